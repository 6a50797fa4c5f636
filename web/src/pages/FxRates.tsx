// The tenant's FX rates (GET /fx-rates: 1 base = rate units of each currency, when each changed)
// and, for pricing:write, the table edited as a whole (PUT /fx-rates: validated as a whole, every
// problem named; derived prices that move by at least the threshold are pushed again).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import { useCan } from "../api/permissions";
import type { components } from "../api/schema";
import { errorFor, formError, TextField } from "../components/fields";
import { Failed, Loading, Section, when } from "../components/ui";

type Rates = components["schemas"]["FxRatesOut"];

interface Row {
  key: number;
  currency: string;
  rate: string;
}

interface Draft {
  base: string;
  threshold: string;
  rows: Row[];
}

let nextKey = 0;

function draftOf(rates: Rates): Draft {
  return {
    base: rates.base ?? "USD",
    threshold: rates.threshold_percent,
    rows: Object.entries(rates.rates).map(([currency, rate]) => ({ key: nextKey++, currency, rate })),
  };
}

function EditRates({ rates, done }: { rates: Rates; done: (repriced: number | null) => void }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>(() => draftOf(rates));
  const save = useMutation({
    mutationFn: () =>
      request("Saving the FX rates failed", () =>
        api.PUT("/api/v1/fx-rates", {
          body: {
            base: draft.base.trim().toUpperCase(),
            rates: Object.fromEntries(
              draft.rows.filter((r) => r.currency.trim()).map((r) => [r.currency.trim().toUpperCase(), r.rate.trim()]),
            ),
            threshold_percent: draft.threshold.trim() || null,
          },
        }),
      ),
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: ["fx-rates"] });
      await queryClient.invalidateQueries({ queryKey: ["prices"] });
      done(saved.repriced ?? null);
    },
  });
  const setRow = (key: number, change: Partial<Row>) =>
    setDraft({ ...draft, rows: draft.rows.map((r) => (r.key === key ? { ...r, ...change } : r)) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const codes = draft.rows.map((r) => r.currency.trim().toUpperCase()).filter(Boolean);
  const message = formError(save.error, "base", "threshold_percent", ...codes);
  return (
    <form className="form spaced" onSubmit={submit} noValidate aria-label="Edit FX rates">
      <TextField
        id="fx-base"
        label="Base currency"
        error={errorFor(save.error, "base")}
        value={draft.base}
        maxLength={3}
        onChange={(v) => setDraft({ ...draft, base: v })}
      />
      <fieldset>
        <legend>Rates (1 base = rate × currency)</legend>
        {draft.rows.map((row, index) => {
          const code = row.currency.trim().toUpperCase();
          const rowError = code ? errorFor(save.error, code) : undefined;
          return (
            <div className="fx-row" key={row.key}>
              <TextField
                id={`fx-currency-${row.key}`}
                label={`Currency ${index + 1}`}
                value={row.currency}
                maxLength={3}
                size={4}
                onChange={(v) => setRow(row.key, { currency: v })}
              />
              <TextField
                id={`fx-rate-${row.key}`}
                label={`Rate ${index + 1}`}
                error={rowError}
                inputMode="decimal"
                value={row.rate}
                size={10}
                onChange={(v) => setRow(row.key, { rate: v })}
              />
              <button
                type="button"
                className="secondary"
                aria-label={`Remove rate ${index + 1}${code ? ` (${code})` : ""}`}
                onClick={() => setDraft({ ...draft, rows: draft.rows.filter((r) => r.key !== row.key) })}
              >
                Remove
              </button>
            </div>
          );
        })}
        <div className="actions">
          <button
            type="button"
            className="secondary"
            onClick={() => setDraft({ ...draft, rows: [...draft.rows, { key: nextKey++, currency: "", rate: "" }] })}
          >
            Add a rate
          </button>
        </div>
      </fieldset>
      <TextField
        id="fx-threshold"
        label="Re-push threshold (%)"
        hint="Derived prices that move by at least this are pushed again"
        error={errorFor(save.error, "threshold_percent")}
        inputMode="decimal"
        value={draft.threshold}
        onChange={(v) => setDraft({ ...draft, threshold: v })}
      />
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save rates"}
        </button>
        <button type="button" className="secondary" onClick={() => done(null)}>
          Cancel
        </button>
      </div>
      {message && (
        <p className="error-text" role="alert">
          {message}
        </p>
      )}
    </form>
  );
}

export function FxRates() {
  const canWrite = useCan("pricing:write");
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const rates = useQuery({
    queryKey: ["fx-rates"],
    queryFn: () => request("Loading the FX rates failed", () => api.GET("/api/v1/fx-rates")),
  });
  const entries = Object.entries(rates.data?.rates ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Section id="fx-title" title="FX rates">
      {rates.isPending ? (
        <Loading what="FX rates" />
      ) : rates.error ? (
        <Failed error={rates.error} retry={() => void rates.refetch()} />
      ) : (
        <>
          {entries.length === 0 ? (
            <p className="empty">No FX rate yet: prices are only derived in the base currency.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <caption>
                  1 {rates.data.base ?? "base"} in each currency; re-pushed from a {rates.data.threshold_percent}% move
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Currency</th>
                    <th scope="col" className="num">
                      Rate
                    </th>
                    <th scope="col">Changed</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map(([currency, rate]) => (
                    <tr key={currency}>
                      <th scope="row">{currency}</th>
                      <td className="num">{rate}</td>
                      <td>{when(rates.data.updated_at[currency])}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {saved && (
            <p className="ok-text" role="status">
              {saved}
            </p>
          )}
          {canWrite &&
            (editing ? (
              <EditRates
                rates={rates.data}
                done={(repriced) => {
                  setEditing(false);
                  if (repriced !== null) setSaved(`Rates saved; ${repriced} derived ${repriced === 1 ? "price" : "prices"} pushed again.`);
                }}
              />
            ) : (
              <div className="actions spaced">
                <button
                  type="button"
                  className="secondary"
                  onClick={() => {
                    setSaved(null);
                    setEditing(true);
                  }}
                >
                  Edit rates
                </button>
              </div>
            ))}
        </>
      )}
    </Section>
  );
}
