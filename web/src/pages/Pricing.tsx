// Pricing: per connection its effective prices (GET /prices?connection_id, set or derived from the
// base price), its pricing rule (GET/PUT /channels/{id}/pricing: currency, rounding, floor) and a
// bulk change previewed first and applied exactly as previewed (POST /prices/bulk: dry run, then
// the preview_id); the tenant's FX rates below (FxRates.tsx). Write controls only for pricing:write.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import { partialBody } from "../api/partial";
import { Can, useCan } from "../api/permissions";
import type { components } from "../api/schema";
import { errorFor, Field, formError, TextField } from "../components/fields";
import { Failed, Loading, PagerNav, Section, when } from "../components/ui";
import { usePager } from "../components/usePager";
import { FxRates } from "./FxRates";
import { money } from "./Orders";

type Connection = components["schemas"]["ConnectionOut"];
type Rounding = components["schemas"]["ConnectionPricingOut"]["rounding"];
type Bulk = components["schemas"]["BulkIn"];
type Preview = components["schemas"]["BulkOut"];

const PAGE_SIZE = 50;
const ROUNDINGS: { value: Rounding; label: string }[] = [
  { value: "none", label: "No rounding" },
  { value: "0.99", label: "End in .99" },
  { value: "nearest_0.05", label: "Nearest 0.05" },
];

function Prices({ connection }: { connection: Connection }) {
  const pager = usePager();
  const prices = useQuery({
    queryKey: ["prices", "connection", connection.id, pager.cursor],
    queryFn: () =>
      request("Loading prices failed", () =>
        api.GET("/api/v1/prices", {
          params: { query: { connection_id: connection.id, limit: PAGE_SIZE, cursor: pager.cursor ?? undefined } },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  return (
    <Section id="prices-title" title={`Prices on ${connection.name}`}>
      {prices.isPending ? (
        <Loading what="prices" />
      ) : prices.error ? (
        <Failed error={prices.error} retry={() => void prices.refetch()} />
      ) : prices.data.items.length === 0 ? (
        <p className="empty">No SKU is listed on this connection yet: map or publish products first.</p>
      ) : (
        <>
          <div className="table-wrap" aria-busy={prices.isFetching || undefined}>
            <table>
              <caption className="visually-hidden">Prices on {connection.name}</caption>
              <thead>
                <tr>
                  <th scope="col">SKU</th>
                  <th scope="col" className="num">
                    Price
                  </th>
                  <th scope="col" className="num">
                    Compare at
                  </th>
                  <th scope="col">Source</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {prices.data.items.map((p) => (
                  <tr key={p.sku}>
                    <th scope="row">{p.sku}</th>
                    <td className="num">{money(p.price)}</td>
                    <td className="num">{money(p.compare_at_price)}</td>
                    <td>
                      {p.derived ? (
                        <span className="badge muted" title="The base price converted, rounded and floored">
                          Derived
                        </span>
                      ) : (
                        <span className="badge ok">Set</span>
                      )}
                    </td>
                    <td>{p.derived ? "—" : when(p.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <PagerNav pager={pager} nextCursor={prices.data.next_cursor} label="Price pages" />
        </>
      )}
    </Section>
  );
}

function Rule({ connection }: { connection: Connection }) {
  const queryClient = useQueryClient();
  const canWrite = useCan("pricing:write");
  const rule = useQuery({
    queryKey: ["prices", "rule", connection.id],
    queryFn: () =>
      request("Loading the pricing rule failed", () =>
        api.GET("/api/v1/channels/{connection_id}/pricing", { params: { path: { connection_id: connection.id } } }),
      ),
  });
  const [draft, setDraft] = useState<{ currency: string; rounding: Rounding; floor: string } | null>(null);
  const save = useMutation({
    mutationFn: (form: { currency: string; rounding: Rounding; floor: string }) => {
      const currency = form.currency.trim().toUpperCase();
      const floor = form.floor.trim();
      // A floor is in the connection's currency; without one the server names the floor field.
      const floorCurrency = currency || rule.data?.floor?.currency || "USD";
      return request("Saving the pricing rule failed", () =>
        api.PUT("/api/v1/channels/{connection_id}/pricing", {
          params: { path: { connection_id: connection.id } },
          body: { currency, rounding: form.rounding, floor: floor ? { amount: floor, currency: floorCurrency } : null },
        }),
      );
    },
    onSuccess: async () => {
      setDraft(null);
      await queryClient.invalidateQueries({ queryKey: ["prices"] });
    },
  });
  if (rule.isPending) return <Loading what="the pricing rule" />;
  if (rule.error) return <Failed error={rule.error} retry={() => void rule.refetch()} />;
  const current = rule.data;
  const form = draft ?? { currency: current.currency, rounding: current.rounding, floor: current.floor?.amount ?? "" };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(form);
  };
  const message = formError(save.error, "currency", "rounding", "floor");
  return (
    <Section id="rule-title" title="Pricing rule">
      <dl className="facts">
        <dt>Currency</dt>
        <dd>{current.currency || "the store's currency (else the FX base)"}</dd>
        <dt>Rounding</dt>
        <dd>{ROUNDINGS.find((r) => r.value === current.rounding)?.label ?? current.rounding}</dd>
        <dt>Floor</dt>
        <dd>{current.floor ? money(current.floor) : "none"}</dd>
        <dt>Pushed again</dt>
        <dd>
          <code>{current.cron}</code> ({current.timezone})
        </dd>
      </dl>
      {canWrite && (
        <form className="form spaced" onSubmit={submit} noValidate>
          <TextField
            id="rule-currency"
            label="Currency"
            hint="Empty: the store's own currency"
            error={errorFor(save.error, "currency")}
            value={form.currency}
            maxLength={3}
            onChange={(v) => setDraft({ ...form, currency: v })}
          />
          <Field id="rule-rounding" label="Rounding" error={errorFor(save.error, "rounding")}>
            {(control) => (
              <select
                {...control}
                value={form.rounding}
                onChange={(e) => setDraft({ ...form, rounding: e.target.value as Rounding })}
              >
                {ROUNDINGS.map((r) => (
                  <option key={r.value} value={r.value}>
                    {r.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <TextField
            id="rule-floor"
            label="Floor (optional)"
            hint="In the currency above (so it needs one); no derived price goes below it"
            error={errorFor(save.error, "floor")}
            inputMode="decimal"
            value={form.floor}
            onChange={(v) => setDraft({ ...form, floor: v })}
          />
          <div className="actions">
            <button type="submit" disabled={save.isPending || draft === null}>
              {save.isPending ? "Saving…" : "Save rule"}
            </button>
          </div>
          {message && (
            <p className="error-text" role="alert">
              {message}
            </p>
          )}
          {save.isSuccess && draft === null && (
            <p className="ok-text" role="status">
              Rule saved.
            </p>
          )}
        </form>
      )}
    </Section>
  );
}

interface BulkForm {
  kind: "percent" | "amount";
  value: string;
  currency: string;
  skuPrefix: string;
  status: components["schemas"]["FilterIn"]["product_status"];
  rounding: Rounding | "";
  reason: string;
}

const NO_BULK: BulkForm = { kind: "percent", value: "", currency: "USD", skuPrefix: "", status: "", rounding: "", reason: "" };

function bulkBody(connectionId: string, form: BulkForm): Bulk {
  const value = form.value.trim();
  return partialBody<Bulk>({
    connection_id: connectionId,
    change:
      form.kind === "percent"
        ? { percent: value, amount: null }
        : { percent: null, amount: { amount: value, currency: form.currency.trim().toUpperCase() } },
    filter: { sku_prefix: form.skuPrefix.trim(), product_status: form.status, tag: "" },
    rounding: form.rounding || null,
    reason: form.reason.trim(),
    dry_run: true,
  });
}

function BulkChange({ connection }: { connection: Connection }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState<BulkForm>(NO_BULK);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [applied, setApplied] = useState<number | null>(null);
  const previewing = useMutation({
    mutationFn: (body: Bulk) =>
      request("Previewing the change failed", () => api.POST("/api/v1/prices/bulk", { body })),
    onSuccess: (result) => setPreview(result),
  });
  const applying = useMutation({
    mutationFn: (previewId: string) =>
      request("Applying the change failed", () =>
        api.POST("/api/v1/prices/bulk", { body: partialBody<Bulk>({ preview_id: previewId }) }),
      ),
    onSuccess: async (result) => {
      setApplied(result.count);
      setPreview(null);
      await queryClient.invalidateQueries({ queryKey: ["prices"] });
    },
  });
  // Any edit makes the preview stale: it must be previewed again before it can be applied.
  const edit = (change: Partial<BulkForm>) => {
    setForm({ ...form, ...change });
    setPreview(null);
    setApplied(null);
    applying.reset();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied(null);
    applying.reset();
    previewing.mutate(bulkBody(connection.id, form));
  };
  const valueError = errorFor(previewing.error, "percent", "amount", "change");
  const message = formError(previewing.error, "percent", "amount", "change", "currency", "sku_prefix", "product_status", "rounding", "reason");
  return (
    <Section id="bulk-title" title="Bulk change">
      <form className="form" onSubmit={submit} noValidate>
        <fieldset>
          <legend>Change by</legend>
          <label className="inline">
            <input type="radio" name="bulk-kind" checked={form.kind === "percent"} onChange={() => edit({ kind: "percent" })} />{" "}
            Percent
          </label>
          <label className="inline">
            <input type="radio" name="bulk-kind" checked={form.kind === "amount"} onChange={() => edit({ kind: "amount" })} />{" "}
            Amount
          </label>
        </fieldset>
        <TextField
          id="bulk-value"
          label={form.kind === "percent" ? "Percent (±)" : "Amount (±)"}
          hint={form.kind === "percent" ? "e.g. 10 or -12.5" : "e.g. -1.00"}
          error={valueError}
          inputMode="decimal"
          value={form.value}
          onChange={(v) => edit({ value: v })}
        />
        {form.kind === "amount" && (
          <TextField
            id="bulk-currency"
            label="Currency"
            error={errorFor(previewing.error, "currency")}
            value={form.currency}
            maxLength={3}
            onChange={(v) => edit({ currency: v })}
          />
        )}
        <TextField
          id="bulk-prefix"
          label="SKUs starting with (optional)"
          error={errorFor(previewing.error, "sku_prefix")}
          value={form.skuPrefix}
          maxLength={256}
          onChange={(v) => edit({ skuPrefix: v })}
        />
        <Field id="bulk-status" label="Product status" error={errorFor(previewing.error, "product_status")}>
          {(control) => (
            <select {...control} value={form.status} onChange={(e) => edit({ status: e.target.value as BulkForm["status"] })}>
              <option value="">Any</option>
              <option value="active">Active</option>
              <option value="draft">Draft</option>
              <option value="archived">Archived</option>
            </select>
          )}
        </Field>
        <Field id="bulk-rounding" label="Rounding" error={errorFor(previewing.error, "rounding")}>
          {(control) => (
            <select {...control} value={form.rounding} onChange={(e) => edit({ rounding: e.target.value as Rounding | "" })}>
              <option value="">The connection's rule</option>
              {ROUNDINGS.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <TextField
          id="bulk-reason"
          label="Reason (optional)"
          hint="Kept in each price's history"
          error={errorFor(previewing.error, "reason")}
          value={form.reason}
          maxLength={256}
          onChange={(v) => edit({ reason: v })}
        />
        <div className="actions">
          <button type="submit" disabled={previewing.isPending || form.value.trim() === ""}>
            {previewing.isPending ? "Previewing…" : "Preview"}
          </button>
        </div>
        {message && (
          <p className="error-text" role="alert">
            {message}
          </p>
        )}
      </form>
      {preview && <PreviewTable preview={preview} />}
      {preview?.preview_id && preview.count > 0 && (
        <div className="actions spaced">
          <button type="button" disabled={applying.isPending} onClick={() => preview.preview_id && applying.mutate(preview.preview_id)}>
            {applying.isPending ? "Applying…" : `Apply ${preview.count} ${preview.count === 1 ? "change" : "changes"}`}
          </button>
          <button type="button" className="secondary" onClick={() => setPreview(null)}>
            Discard preview
          </button>
        </div>
      )}
      {applying.error && (
        <p className="error-text" role="alert">
          {applying.error.message}
          {applying.error.message.includes("Conflict") && " Preview again to see the current prices."}
        </p>
      )}
      {applied !== null && (
        <p className="ok-text" role="status">
          Applied: {applied} {applied === 1 ? "price" : "prices"} changed.
        </p>
      )}
    </Section>
  );
}

function PreviewTable({ preview }: { preview: Preview }) {
  const items = preview.items ?? [];
  if (preview.count === 0) return <p className="empty">No price matches: nothing would change.</p>;
  return (
    <div className="table-wrap spaced">
      <table>
        <caption>
          Preview: {preview.count} {preview.count === 1 ? "price" : "prices"} would change
          {items.length < preview.count ? ` (the first ${items.length} shown)` : ""}
        </caption>
        <thead>
          <tr>
            <th scope="col">SKU</th>
            <th scope="col" className="num">
              Before
            </th>
            <th scope="col" className="num">
              After
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.sku}>
              <th scope="row">{item.sku}</th>
              <td className="num">{money(item.before)}</td>
              <td className="num">{money(item.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ConnectionPicker({ connections, value, onChange }: { connections: Connection[]; value: string; onChange: (id: string) => void }) {
  return (
    <div className="field picker">
      <label htmlFor="pricing-connection">Connection</label>
      <select id="pricing-connection" value={value} onChange={(e) => onChange(e.target.value)}>
        {connections.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name} ({c.type})
          </option>
        ))}
      </select>
    </div>
  );
}

export function PricingPage() {
  const channels = useQuery({
    queryKey: ["channels"],
    queryFn: () => request("Loading channels failed", () => api.GET("/api/v1/channels")),
  });
  const [chosen, setChosen] = useState("");
  const connections = channels.data?.items ?? [];
  const connection = connections.find((c) => c.id === chosen) ?? connections[0];
  return (
    <>
      <h1>Pricing</h1>
      {channels.isPending ? (
        <Loading what="connections" />
      ) : channels.error ? (
        <Failed error={channels.error} retry={() => void channels.refetch()} />
      ) : !connection ? (
        <p className="empty">No channel is connected: prices are per connection. Connect a channel first.</p>
      ) : (
        <>
          <ConnectionPicker connections={connections} value={connection.id} onChange={setChosen} />
          <div className="columns">
            <div>
              <Prices key={connection.id} connection={connection} />
            </div>
            <div>
              <Rule key={connection.id} connection={connection} />
              <Can permission="pricing:write">
                <BulkChange key={connection.id} connection={connection} />
              </Can>
            </div>
          </div>
        </>
      )}
      <FxRates />
    </>
  );
}
