// One SKU: totals and per-location stock, its movement ledger and the adjust form. A successful
// adjustment invalidates every inventory query, so this page, the list and the overview refetch.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, fieldErrors, idempotencyKey, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, PagerNav, Section, when } from "../components/ui";
import { usePager } from "../components/usePager";
import { Link } from "../router";
import { StockIndicator, type StockState } from "./Inventory";
import { Can } from "../api/permissions";
import { SkuReservations } from "./SkuReservations";

type SkuStock = components["schemas"]["SkuStockOut"];
type Adjustment = components["schemas"]["AdjustmentIn"];
type Reason = Adjustment["reason"];

const HISTORY_PAGE = 20;
// The reasons a person adjusts for; sale/transfer/import(ed) are written by the system.
const REASONS: { value: Reason; label: string }[] = [
  { value: "received", label: "Received" },
  { value: "correction", label: "Correction" },
  { value: "cycle_count", label: "Cycle count" },
  { value: "damaged", label: "Damaged" },
  { value: "lost", label: "Lost" },
  { value: "returned", label: "Returned" },
];

function skuState(stock: SkuStock): StockState {
  if (stock.available <= 0) return "out";
  return stock.available < stock.low_stock_threshold ? "low" : "ok";
}

function useSkuStock(sku: string) {
  return useQuery({
    queryKey: ["inventory", "sku", sku],
    queryFn: () =>
      request(`Loading the stock of ${sku} failed`, () =>
        api.GET("/api/v1/inventory/{sku}", { params: { path: { sku } } }),
      ),
  });
}

function Stock({ sku }: { sku: string }) {
  const { data, error, isPending, refetch } = useSkuStock(sku);
  return (
    <Section id="stock-title" title="Stock">
      {isPending ? (
        <Loading what="stock" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : (
        <>
          <dl className="figures">
            <div className="figure">
              <dt>Available</dt>
              <dd data-testid="available">{data.available}</dd>
            </div>
            <div className="figure">
              <dt>On hand</dt>
              <dd data-testid="on-hand">{data.on_hand}</dd>
            </div>
            <div className="figure">
              <dt>Reserved</dt>
              <dd>{data.reserved}</dd>
            </div>
            <div className="figure">
              <dt>Low below</dt>
              <dd>{data.low_stock_threshold}</dd>
            </div>
          </dl>
          <p>
            State: <StockIndicator state={skuState(data)} />
            {data.is_bundle && <span className="muted"> · a bundle: its stock follows its components</span>}
          </p>
          {data.locations.length > 1 && (
            <ul className="plain">
              {data.locations.map((l) => (
                <li key={l.location}>
                  {l.location}: {l.available} available, {l.on_hand} on hand, {l.reserved} reserved
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Section>
  );
}

function AdjustForm({ sku }: { sku: string }) {
  const queryClient = useQueryClient();
  const stock = useSkuStock(sku);
  const [mode, setMode] = useState<"delta" | "set">("delta");
  const [quantity, setQuantity] = useState("");
  const [reason, setReason] = useState<Reason>("correction");
  const [location, setLocation] = useState("");
  const [note, setNote] = useState("");
  const [saved, setSaved] = useState<string | null>(null);

  const adjust = useMutation({
    mutationFn: (body: Adjustment) => {
      // One key per submit: the repeat after a token refresh (request's 401 retry) applies once.
      const key = idempotencyKey();
      return request("Adjusting the stock failed", () =>
        api.POST("/api/v1/inventory/adjustments", { body, params: { header: { "Idempotency-Key": key } } }),
      );
    },
    onSuccess: async (level) => {
      setSaved(`Saved: ${level.sku} at ${level.location} now has ${level.on_hand} on hand, ${level.available} available.`);
      setQuantity("");
      setNote("");
      await queryClient.invalidateQueries({ queryKey: ["inventory"] });
    },
  });

  const errors = fieldErrors(adjust.error);
  const quantityError = errors[mode] ?? errors.delta ?? errors.set;
  const amount = Number(quantity);
  const quantityInvalid = quantity.trim() === "" || !Number.isInteger(amount) || (mode === "set" && amount < 0);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(null);
    if (quantityInvalid) return;
    adjust.mutate({
      sku,
      reason,
      note,
      reference: "",
      location: location || null,
      delta: mode === "delta" ? amount : null,
      set: mode === "set" ? amount : null,
    });
  };

  const localError =
    quantity.trim() !== "" && quantityInvalid
      ? mode === "set"
        ? "Enter a whole number of 0 or more."
        : "Enter a whole number, negative to remove stock."
      : undefined;
  const shownQuantityError = localError ?? quantityError;
  // Field errors are shown next to their inputs; the whole message (title, detail and every
  // field) is shown under the form unless each of its fields already sits next to an input.
  const showsLocation = Boolean(stock.data && stock.data.locations.length > 1);
  const besideInputs = new Set(["delta", "set", "reason", "note", ...(showsLocation ? ["location"] : [])]);
  const fields = Object.keys(errors);
  const formError =
    adjust.error && (fields.length === 0 || fields.some((f) => !besideInputs.has(f))) ? adjust.error.message : null;

  return (
    <Section id="adjust-title" title="Adjust stock">
      <form className="form" onSubmit={submit} noValidate>
        <fieldset>
          <legend>Change</legend>
          <label className="inline">
            <input type="radio" name="mode" checked={mode === "delta"} onChange={() => setMode("delta")} /> Add or
            remove (±)
          </label>
          <label className="inline">
            <input type="radio" name="mode" checked={mode === "set"} onChange={() => setMode("set")} /> Set the count
            on hand
          </label>
        </fieldset>
        <div className="field">
          <label htmlFor="adjust-quantity">{mode === "delta" ? "Quantity (±)" : "New count on hand"}</label>
          <input
            id="adjust-quantity"
            inputMode="numeric"
            value={quantity}
            onChange={(e) => setQuantity(e.target.value)}
            aria-invalid={shownQuantityError ? true : undefined}
            aria-describedby={shownQuantityError ? "adjust-quantity-error" : undefined}
            required
          />
          {shownQuantityError && (
            <small id="adjust-quantity-error" className="error-text">
              {shownQuantityError}
            </small>
          )}
        </div>
        <div className="field">
          <label htmlFor="adjust-reason">Reason</label>
          <select
            id="adjust-reason"
            value={reason}
            onChange={(e) => setReason(e.target.value as Reason)}
            aria-invalid={errors.reason ? true : undefined}
            aria-describedby={errors.reason ? "adjust-reason-error" : undefined}
          >
            {REASONS.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
          {errors.reason && (
            <small id="adjust-reason-error" className="error-text">
              {errors.reason}
            </small>
          )}
        </div>
        {showsLocation && stock.data && (
          <div className="field">
            <label htmlFor="adjust-location">Location</label>
            <select
              id="adjust-location"
              value={location}
              onChange={(e) => setLocation(e.target.value)}
              aria-invalid={errors.location ? true : undefined}
              aria-describedby={errors.location ? "adjust-location-error" : undefined}
            >
              <option value="">Default location</option>
              {stock.data.locations.map((l) => (
                <option key={l.location} value={l.location}>
                  {l.location}
                </option>
              ))}
            </select>
            {errors.location && (
              <small id="adjust-location-error" className="error-text">
                {errors.location}
              </small>
            )}
          </div>
        )}
        <div className="field">
          <label htmlFor="adjust-note">Note (optional)</label>
          <input
            id="adjust-note"
            value={note}
            maxLength={2000}
            onChange={(e) => setNote(e.target.value)}
            aria-invalid={errors.note ? true : undefined}
            aria-describedby={errors.note ? "adjust-note-error" : undefined}
          />
          {errors.note && (
            <small id="adjust-note-error" className="error-text">
              {errors.note}
            </small>
          )}
        </div>
        <div className="actions">
          <button type="submit" disabled={adjust.isPending || quantityInvalid}>
            {adjust.isPending ? "Saving…" : "Save adjustment"}
          </button>
        </div>
        {formError && (
          <p className="error-text" role="alert">
            {formError}
          </p>
        )}
        {saved && (
          <p className="ok-text" role="status">
            {saved}
          </p>
        )}
      </form>
    </Section>
  );
}

function History({ sku }: { sku: string }) {
  const pager = usePager();
  const { data, error, isPending, refetch } = useQuery({
    queryKey: ["inventory", "history", sku, pager.cursor],
    queryFn: () =>
      request("Loading the movement history failed", () =>
        api.GET("/api/v1/inventory/{sku}/history", {
          params: { path: { sku }, query: { limit: HISTORY_PAGE, cursor: pager.cursor ?? undefined } },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
  return (
    <Section id="history-title" title="Movement history">
      {isPending ? (
        <Loading what="movements" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No movement yet.</p>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Stock movements of {sku}, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Reason</th>
                  <th scope="col" className="num">
                    On hand ±
                  </th>
                  <th scope="col" className="num">
                    On hand after
                  </th>
                  <th scope="col" className="num">
                    Reserved ±
                  </th>
                  <th scope="col">Location</th>
                  <th scope="col">By</th>
                  <th scope="col">Note / reference</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((m) => (
                  <tr key={m.id}>
                    <td>{when(m.at)}</td>
                    <td>{m.kind}</td>
                    <td>{m.reason ?? "—"}</td>
                    <td className="num">{signed(m.delta)}</td>
                    <td className="num">{m.on_hand_after}</td>
                    <td className="num">{signed(m.reserved_delta)}</td>
                    <td>{m.location}</td>
                    <td>{m.actor}</td>
                    <td>{[m.note, m.reference].filter(Boolean).join(" · ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <PagerNav pager={pager} nextCursor={data.next_cursor} label="Movement pages" />
        </>
      )}
    </Section>
  );
}

export function InventorySkuPage({ sku }: { sku: string }) {
  return (
    <>
      <p className="crumbs">
        <Link href="/inventory">← Inventory</Link>
      </p>
      <h1>
        Stock of <code>{sku}</code>
      </h1>
      <div className="columns">
        <div>
          <Stock sku={sku} />
          <SkuReservations sku={sku} />
          <History sku={sku} />
        </div>
        <Can permission="inventory:write">
          <AdjustForm sku={sku} />
        </Can>
      </div>
    </>
  );
}
