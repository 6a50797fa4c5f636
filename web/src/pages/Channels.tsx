// Channels: each connection's health, a "Sync now" that follows its job (GET /jobs/{id}) to the
// end, the sync log and the products published there. Every section loads, fails and is empty on
// its own, like the overview's.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, Section, when } from "../components/ui";
import { channelLabel } from "./Analytics";
import { Can } from "../api/permissions";

type Connection = components["schemas"]["ConnectionOut"];
type Job = components["schemas"]["JobStatusOut"];
type Scope = components["schemas"]["SyncIn"]["scope"];
type Listing = components["schemas"]["ProductListingOut"];

const REFRESH_MS = 30_000;
const JOB_POLL_MS = 1_000;
const LOG_LIMIT = 20;
const SCOPES: { value: Scope; label: string }[] = [
  { value: "all", label: "Everything" },
  { value: "inventory", label: "Inventory" },
  { value: "prices", label: "Prices" },
  { value: "orders", label: "Orders" },
  { value: "catalog", label: "Catalog" },
];

export const STATUS_TONE: Record<Connection["status"], string> = {
  connected: "ok",
  degraded: "warn",
  error: "bad",
  disconnected: "muted",
};

const JOB_TONE: Record<Job["status"], string> = { queued: "muted", running: "warn", succeeded: "ok", failed: "bad" };
const LISTING_TONE: Record<Listing["state"], string> = { pending: "muted", published: "ok", error: "bad", archived: "muted" };

function useChannels() {
  return useQuery({
    queryKey: ["channels"],
    queryFn: () => request("Loading channels failed", () => api.GET("/api/v1/channels")),
    refetchInterval: REFRESH_MS,
  });
}

function Health({ connection }: { connection: Connection }) {
  const h = connection.health;
  return (
    <dl className="facts">
      <dt>Status</dt>
      <dd>
        <span className={`badge ${STATUS_TONE[connection.status]}`}>{connection.status}</span>
        {connection.status_reason && <> {connection.status_reason}</>}
      </dd>
      <dt>Last sync</dt>
      <dd>{when(h.last_sync_at)}</dd>
      <dt>Last success</dt>
      <dd>{when(h.last_success_at)}</dd>
      <dt>Errors</dt>
      <dd>{h.error_count}</dd>
      <dt>Last error</dt>
      <dd className={h.last_error ? "error-text" : "muted"}>{h.last_error || "none"}</dd>
      <dt>Token expires</dt>
      <dd>{h.token_expires_at ? when(h.token_expires_at) : "does not expire"}</dd>
      {h.increases_held_since && (
        <>
          <dt>Increases held</dt>
          <dd className="error-text">
            since {when(h.increases_held_since)}
            {h.increases_held_reason && `: ${h.increases_held_reason}`}
          </dd>
        </>
      )}
    </dl>
  );
}

function JobStatus({ connectionId, jobId }: { connectionId: string; jobId: string }) {
  const queryClient = useQueryClient();
  const { data, error, refetch } = useQuery({
    queryKey: ["jobs", jobId],
    queryFn: () =>
      request("Loading the sync job failed", () => api.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: jobId } } })),
    // Polled until it ends; a finished job does not change.
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === "succeeded" || status === "failed" ? false : JOB_POLL_MS;
    },
  });
  const ended = data?.status === "succeeded" || data?.status === "failed";
  useEffect(() => {
    // The health, the log and the listings changed with the sync: fetch them again.
    if (ended) void queryClient.invalidateQueries({ queryKey: ["channels"] });
  }, [ended, queryClient, connectionId]);
  if (error) return <Failed error={error} retry={() => void refetch()} />;
  if (!data) return <Loading what="the sync job" />;
  const { done, total } = data.progress;
  return (
    <p role="status" aria-live="polite" className="job">
      Sync job <code>{data.id.slice(0, 8)}</code>: <span className={`badge ${JOB_TONE[data.status]}`}>{data.status}</span>
      {data.status === "running" && total !== null && total !== undefined && ` (${done} of ${total})`}
      {data.finished_at && ` at ${when(data.finished_at)}`}
      {data.error && <span className="error-text"> — {data.error}</span>}
      {data.result && "message" in data.result && data.result.message && <> — {data.result.message}</>}
    </p>
  );
}

function SyncNow({ connection }: { connection: Connection }) {
  const [scope, setScope] = useState<Scope>("all");
  const [jobId, setJobId] = useState<string | null>(null);
  const scopeId = useId();
  const sync = useMutation({
    mutationFn: () =>
      request("Requesting a sync failed", () =>
        api.POST("/api/v1/channels/{connection_id}/sync", {
          params: { path: { connection_id: connection.id } },
          body: { scope },
        }),
      ),
    onSuccess: (job) => setJobId(job.job_id),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    sync.mutate();
  };
  return (
    <div>
      <form className="filters" onSubmit={submit} aria-label={`Sync ${connection.name}`}>
        <div className="field">
          <label htmlFor={scopeId}>What to sync</label>
          <select id={scopeId} value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
            {SCOPES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" disabled={sync.isPending}>
          {sync.isPending ? "Requesting…" : "Sync now"}
        </button>
      </form>
      {sync.error && (
        <p className="error" role="alert">
          {sync.error.message}
        </p>
      )}
      {jobId && <JobStatus key={jobId} connectionId={connection.id} jobId={jobId} />}
    </div>
  );
}

function SyncLog({ connectionId }: { connectionId: string }) {
  const { data, error, isPending, refetch } = useQuery({
    queryKey: ["channels", connectionId, "sync-log"],
    queryFn: () =>
      request("Loading the sync log failed", () =>
        api.GET("/api/v1/channels/{connection_id}/sync-log", {
          params: { path: { connection_id: connectionId }, query: { limit: LOG_LIMIT } },
        }),
      ),
    refetchInterval: REFRESH_MS,
  });
  return (
    <>
      <h3>Sync log</h3>
      {isPending ? (
        <Loading what="the sync log" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">Nothing pushed or pulled yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">The latest {LOG_LIMIT} pushes and pulls, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Operation</th>
                <th scope="col">Outcome</th>
                <th scope="col">SKUs</th>
                <th scope="col" className="num">
                  Calls
                </th>
                <th scope="col" className="num">
                  ms
                </th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((entry) => (
                <tr key={entry.id}>
                  <td>{when(entry.at)}</td>
                  <td>{entry.operation}</td>
                  <td>{entry.outcome}</td>
                  <td>{entry.skus.length > 3 ? `${entry.skus.slice(0, 3).join(", ")} +${entry.skus.length - 3}` : entry.skus.join(", ")}</td>
                  <td className="num">{entry.calls}</td>
                  <td className="num">{entry.latency_ms}</td>
                  <td>{entry.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function PublishedProducts({ connectionId }: { connectionId: string }) {
  const { data, error, isPending, refetch } = useQuery({
    queryKey: ["channels", connectionId, "products"],
    queryFn: () =>
      request("Loading the published products failed", () =>
        api.GET("/api/v1/channels/{connection_id}/products", { params: { path: { connection_id: connectionId } } }),
      ),
    refetchInterval: REFRESH_MS,
  });
  return (
    <>
      <h3>Published products</h3>
      {isPending ? (
        <Loading what="published products" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No product is published to this channel.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Products published to this channel and their state</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Channel id</th>
                <th scope="col">State</th>
                <th scope="col" className="num">
                  Version
                </th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((listing) => (
                <tr key={listing.product_id}>
                  <th scope="row">{listing.product_id}</th>
                  <td>{listing.external_id || "—"}</td>
                  <td>
                    <span className={`badge ${LISTING_TONE[listing.state]}`}>{listing.state}</span>
                  </td>
                  <td className="num">
                    {listing.published_version ?? "—"} / {listing.wanted_version}
                  </td>
                  <td className={listing.last_error ? "error-text" : "muted"}>{listing.last_error || "none"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function ConnectionCard({ connection }: { connection: Connection }) {
  const titleId = `connection-${connection.id}`;
  return (
    <section aria-labelledby={titleId} className="card">
      <h2 id={titleId}>
        {connection.name} <span className="muted">{channelLabel(connection.type)}</span>
      </h2>
      <Health connection={connection} />
      <Can permission="channels:write">
        <SyncNow connection={connection} />
      </Can>
      <SyncLog connectionId={connection.id} />
      <PublishedProducts connectionId={connection.id} />
    </section>
  );
}

export function ChannelsPage() {
  const { data, error, isPending, refetch } = useChannels();
  return (
    <>
      <h1>Channels</h1>
      {isPending ? (
        <Loading what="channels" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <Section id="no-channels-title" title="No channels">
          <p className="empty">No channel is connected yet. Connect a store through the API (POST /api/v1/channels).</p>
        </Section>
      ) : (
        data.items.map((connection) => <ConnectionCard key={connection.id} connection={connection} />)
      )}
    </>
  );
}
