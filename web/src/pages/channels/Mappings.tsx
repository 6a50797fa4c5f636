// A connection's listing mappings (a SKU ↔ the channel's ids): listed page by page, one edited or
// added with PUT /channels/{id}/listings/{sku}, and all of them matched by SKU with an auto-map
// job (followed like "Sync now"). Listed for every role; the write controls need channels:write.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, fieldErrors, request } from "../../api/client";
import { Can, useCan } from "../../api/permissions";
import type { components } from "../../api/schema";
import { Failed, Loading, PagerNav, when } from "../../components/ui";
import { usePager } from "../../components/usePager";
import { Disclosure } from "./Disclosure";
import { TextField, formError } from "../../components/fields";
import { JobStatus } from "./JobStatus";

type Connection = components["schemas"]["ConnectionOut"];
type Listing = components["schemas"]["ListingOut"];

const PAGE_SIZE = 20;
// The ids each connector reads from a mapping; another channel's ids are kept as they are.
const ID_FIELDS: Record<string, string[]> = {
  woocommerce: ["product_id", "variation_id"],
  shopify: ["product_id", "variant_id", "inventory_item_id"],
};

const ID_LABELS: Record<string, string> = {
  product_id: "Product ID",
  variation_id: "Variation ID",
  variant_id: "Variant ID",
  inventory_item_id: "Inventory item ID",
};

function idFields(type: string, listing: Listing | null): string[] {
  return [...new Set([...(ID_FIELDS[type] ?? ["product_id"]), ...Object.keys(listing?.external_ids ?? {})])];
}

function ids(listing: Listing): string {
  const entries = Object.entries(listing.external_ids);
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(", ") : "—";
}

function AutoMap({ connection }: { connection: Connection }) {
  const [jobId, setJobId] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () =>
      request("Starting the auto-map failed", () =>
        api.POST("/api/v1/channels/{connection_id}/listings/auto-map", {
          params: { path: { connection_id: connection.id } },
          body: { skus: [] },
        }),
      ),
    onSuccess: (job) => setJobId(job.job_id),
  });
  return (
    <div>
      <p className="muted">Auto-map reads the channel&apos;s products and maps each one whose SKU the catalog has.</p>
      <button type="button" disabled={start.isPending} onClick={() => start.mutate()}>
        {start.isPending ? "Starting…" : "Auto-map by SKU"}
      </button>
      {start.error && (
        <p className="error" role="alert">
          {start.error.message}
        </p>
      )}
      {jobId && <JobStatus key={jobId} jobId={jobId} label="Auto-map job" />}
    </div>
  );
}

function MappingForm({
  connection,
  listing,
  onDone,
  onCancel,
}: {
  connection: Connection;
  listing: Listing | null;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const queryClient = useQueryClient();
  const fields = idFields(connection.type, listing);
  const [sku, setSku] = useState(listing?.sku ?? "");
  const [values, setValues] = useState<Record<string, string>>(() => ({ ...(listing?.external_ids ?? {}) }));
  const [checked, setChecked] = useState(false);
  const chosen = Object.fromEntries(
    fields.map((f) => [f, (values[f] ?? "").trim()] as const).filter(([, value]) => value !== ""),
  );
  const save = useMutation({
    mutationFn: () =>
      request(`Saving the mapping of ${sku.trim()} failed`, () =>
        api.PUT("/api/v1/channels/{connection_id}/listings/{sku}", {
          params: { path: { connection_id: connection.id, sku: sku.trim() } },
          body: { external_ids: chosen },
        }),
      ),
    onSuccess: async (saved) => {
      onDone(`Saved: ${saved.sku} maps to ${ids(saved)}.`);
      await queryClient.invalidateQueries({ queryKey: ["channels", connection.id, "listings"] });
    },
  });
  const server = fieldErrors(save.error);
  const skuError = checked && !sku.trim() ? "Enter the SKU." : undefined;
  const idsError = checked && Object.keys(chosen).length === 0 ? "Enter at least one of the channel's ids." : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setChecked(true);
    if (sku.trim() && Object.keys(chosen).length > 0) save.mutate();
  };
  const message = formError(save.error, "sku", ...fields);
  const title = listing ? `Edit the mapping of ${listing.sku}` : "Map a SKU";
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={title}>
      <h4>{title}</h4>
      {!listing && <TextField label="SKU" value={sku} onChange={setSku} error={skuError ?? server.sku} required />}
      <fieldset>
        <legend>Channel ids</legend>
        {fields.map((f) => (
          <TextField
            key={f}
            label={ID_LABELS[f] ?? f.replace(/_/g, " ")}
            value={values[f] ?? ""}
            onChange={(value) => setValues((old) => ({ ...old, [f]: value }))}
            error={server[f]}
            autoComplete="off"
          />
        ))}
        {idsError && <small className="error-text">{idsError}</small>}
      </fieldset>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save mapping"}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function MappingList({ connection }: { connection: Connection }) {
  const pager = usePager();
  const canWrite = useCan("channels:write");
  // undefined: no form; null: a new mapping; a listing: that one edited.
  const [editing, setEditing] = useState<Listing | null | undefined>(undefined);
  const [saved, setSaved] = useState<string | null>(null);
  const { data, error, isPending, refetch } = useQuery({
    queryKey: ["channels", connection.id, "listings", pager.cursor],
    queryFn: () =>
      request("Loading the mappings failed", () =>
        api.GET("/api/v1/channels/{connection_id}/listings", {
          params: { path: { connection_id: connection.id }, query: { limit: PAGE_SIZE, cursor: pager.cursor ?? undefined } },
        }),
      ),
  });
  const edit = (listing: Listing | null) => {
    setSaved(null);
    setEditing(listing);
  };
  return (
    <>
      <Can permission="channels:write">
        <AutoMap connection={connection} />
      </Can>
      {saved && (
        <p role="status" className="ok-text">
          {saved}
        </p>
      )}
      {editing !== undefined ? (
        <MappingForm
          key={editing?.sku ?? "new"}
          connection={connection}
          listing={editing}
          onDone={(message) => {
            setSaved(message);
            setEditing(undefined);
          }}
          onCancel={() => setEditing(undefined)}
        />
      ) : (
        <Can permission="channels:write">
          <p>
            <button type="button" className="secondary" onClick={() => edit(null)}>
              Map a SKU
            </button>
          </p>
        </Can>
      )}
      {isPending ? (
        <Loading what="mappings" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No SKU is mapped to this channel yet.</p>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">SKUs and the channel&apos;s ids they are mapped to</caption>
              <thead>
                <tr>
                  <th scope="col">SKU</th>
                  <th scope="col">Channel ids</th>
                  <th scope="col" className="num">
                    Last pushed
                  </th>
                  <th scope="col">Updated</th>
                  {canWrite && (
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {data.items.map((listing) => (
                  <tr key={listing.sku}>
                    <th scope="row">{listing.sku}</th>
                    <td>{ids(listing)}</td>
                    <td className="num">{listing.last_pushed_quantity ?? "—"}</td>
                    <td>{when(listing.updated_at)}</td>
                    {canWrite && (
                      <td>
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => edit(listing)}
                          aria-label={`Edit ${listing.sku}`}
                        >
                          Edit
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <PagerNav pager={pager} nextCursor={data.next_cursor} label={`Mappings of ${connection.name} pages`} />
        </>
      )}
    </>
  );
}

/** Closed until asked for: a channel may have thousands of mappings. */
export function Mappings({ connection }: { connection: Connection }) {
  return (
    <Disclosure id={`mappings-${connection.id}`} title="Mappings" what="mappings">
      {() => <MappingList connection={connection} />}
    </Disclosure>
  );
}
