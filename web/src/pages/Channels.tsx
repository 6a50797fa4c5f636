// Channels: each connection's health, a "Sync now" that follows its job (GET /jobs/{id}) to the
// end, its editable settings (managers; channels/Settings.tsx), its allocation rule, its listing mappings, the sync log and the products published there.
// Every section loads, fails and is empty on its own, like the overview's. Connecting one is the
// wizard at /channels/connect (channels/Connect.tsx), whose OAuth round trip ends back here with
// ?connected=<id> or ?connect_error=<slug>.
import { useMutation, useQuery } from "@tanstack/react-query";
import { Fragment, useEffect, useId, useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, Section, when } from "../components/ui";
import { Link, navigate } from "../router";
import { channelLabel } from "./Analytics";
import { Can } from "../api/permissions";
import { Allocation } from "./channels/Allocation";
import { JobStatus } from "./channels/JobStatus";
import { Mappings } from "./channels/Mappings";
import { ConnectionSettings } from "./channels/Settings";

type Connection = components["schemas"]["ConnectionOut"];
type Scope = components["schemas"]["SyncIn"]["scope"];
type Listing = components["schemas"]["ProductListingOut"];

const REFRESH_MS = 30_000;
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
      {Object.entries(h.limits ?? {}).map(([name, value]) => (
        <Fragment key={name}>
          <dt>{limitLabel(name)}</dt>
          <dd>
            {value}
            {h.limits_at && <span className="muted"> (as of {when(h.limits_at)})</span>}
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

/** A channel quota's snake_case name as a label: "revisions_left_lowest" → "Revisions left lowest". */
function limitLabel(name: string): string {
  const words = name.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
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
      {jobId && <JobStatus key={jobId} jobId={jobId} label="Sync job" />}
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
      <Can permission="channels:manage">
        <ConnectionSettings connection={connection} />
      </Can>
      <Allocation connection={connection} />
      <Mappings connection={connection} />
      <SyncLog connectionId={connection.id} />
      <PublishedProducts connectionId={connection.id} />
    </section>
  );
}

// The OAuth callback's failure reasons (gateway: routes/channels/oauth.failure_slug), in words.
const CONNECT_ERRORS: Record<string, string> = {
  "oauth-state-reused": "This sign-in was already used. Start connecting again.",
  "oauth-state-expired": "The sign-in took too long and expired. Start connecting again.",
  "oauth-state-invalid": "The channel sent back a sign-in OmniStock could not verify. Start connecting again.",
  "oauth-session-mismatch":
    "The channel sent the sign-in back to another browser than the one that started it. Start connecting again in this browser.",
  "credentials-rejected": "The channel refused the sign-in. Start connecting again.",
  "invalid-request": "The channel's answer was not valid. Start connecting again.",
  forbidden: "The channel's answer was refused. Start connecting again in this browser.",
  unauthenticated: "The channel's signature did not match. Start connecting again.",
  conflict: "This channel cannot be connected right now.",
  unavailable: "A service needed to finish connecting is unavailable. Try again in a moment.",
  timeout: "Finishing the connection took too long. Try again in a moment.",
};

interface ConnectOutcome {
  connected: string | null;
  error: string | null;
}

/** ?connected= / ?connect_error= read once, then taken out of the address (a reload says nothing). */
function useConnectOutcome(): ConnectOutcome {
  const [outcome] = useState<ConnectOutcome>(() => {
    const params = new URLSearchParams(window.location.search);
    return { connected: params.get("connected"), error: params.get("connect_error") };
  });
  useEffect(() => {
    if (outcome.connected !== null || outcome.error !== null) navigate(window.location.pathname, true);
  }, [outcome]);
  return outcome;
}

function ConnectNotice({ outcome, connections }: { outcome: ConnectOutcome; connections: Connection[] | undefined }) {
  if (outcome.error !== null) {
    const known = CONNECT_ERRORS[outcome.error];
    return (
      <p className="error" role="alert">
        Connecting the channel failed. {known ?? "Start connecting again."}
        {!known && /^[a-z0-9-]{1,64}$/.test(outcome.error) && (
          <>
            {" "}
            (<code>{outcome.error}</code>)
          </>
        )}
      </p>
    );
  }
  if (outcome.connected === null) return null;
  const connection = connections?.find((c) => c.id === outcome.connected);
  return (
    <p className="ok-text" role="status">
      {connection ? `Connected ${connection.name} (${channelLabel(connection.type)}).` : "Connected the channel."}
    </p>
  );
}

export function ChannelsPage() {
  const { data, error, isPending, refetch } = useChannels();
  const outcome = useConnectOutcome();
  return (
    <>
      <h1>Channels</h1>
      <ConnectNotice outcome={outcome} connections={data?.items} />
      <Can permission="channels:manage">
        <p>
          <Link href="/channels/connect">Connect a channel</Link>
        </p>
      </Can>
      {isPending ? (
        <Loading what="channels" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <Section id="no-channels-title" title="No channels">
          <p className="empty">No channel is connected yet.</p>
        </Section>
      ) : (
        data.items.map((connection) => <ConnectionCard key={connection.id} connection={connection} />)
      )}
    </>
  );
}
