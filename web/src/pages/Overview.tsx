// Overview: key figures, the analytics (Analytics.tsx: sales over time, revenue by channel, best
// sellers, turnover, conversion), the low-stock list and each channel's health, each section loading,
// failing and being empty on its own (one slow backend does not blank the whole page).
import { useQuery } from "@tanstack/react-query";
import { api, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, Section, when } from "../components/ui";
import { SalesAnalytics } from "./Analytics";
import { LevelsTable } from "../components/levels";
import { Link } from "../router";

type Connection = components["schemas"]["ConnectionOut"];

// The figures count up to this many ("100+" beyond); the low-stock table shows the first SHOWN.
const LIST_LIMIT = 100;
const SHOWN = 20;
// Refreshed in the background while the page is open (live updates by events are a later slice).
const REFRESH_MS = 30_000;

function useLowStock() {
  return useQuery({
    queryKey: ["inventory", "low_stock"],
    queryFn: () =>
      request("Loading low-stock SKUs failed", () =>
        api.GET("/api/v1/inventory", { params: { query: { low_stock: true, limit: LIST_LIMIT } } }),
      ),
    refetchInterval: REFRESH_MS,
  });
}

function useChannels() {
  return useQuery({
    queryKey: ["channels"],
    queryFn: () => request("Loading channels failed", () => api.GET("/api/v1/channels")),
    refetchInterval: REFRESH_MS,
  });
}

function useOpenAlerts() {
  return useQuery({
    queryKey: ["alerts", "open"],
    queryFn: () =>
      request("Loading alerts failed", () =>
        api.GET("/api/v1/alerts", { params: { query: { status: "open", limit: LIST_LIMIT } } }),
      ),
    refetchInterval: REFRESH_MS,
  });
}

/** The number of products (GET /products/count: a count, not 10,000 products). */
function useProductCount() {
  return useQuery({
    queryKey: ["products", "count"],
    queryFn: () => request("Loading products failed", () => api.GET("/api/v1/products/count")),
    select: (reply) => reply.count,
  });
}

/** "12", or "100+" when the first page was full and more exist. */
function count(page: { items: unknown[]; next_cursor?: string | null } | undefined): string {
  if (!page) return "…";
  return page.next_cursor ? `${page.items.length}+` : String(page.items.length);
}

function Figure({ label, value, tone }: { label: string; value: string; tone?: "warn" | "bad" | "ok" }) {
  return (
    <div className={`figure ${tone ?? ""}`}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function KeyFigures() {
  const products = useProductCount();
  const low = useLowStock();
  const alerts = useOpenAlerts();
  const channels = useChannels();
  const connections = channels.data?.items ?? [];
  const healthy = connections.filter((c) => c.status === "connected").length;
  const lowCount = count(low.data);
  const troubled = connections.length - healthy;
  return (
    <Section id="figures-title" title="Key figures">
      <dl className="figures">
        <Figure
          label="Products"
          value={products.isError ? "—" : products.data === undefined ? "…" : products.data.toLocaleString()}
        />
        <Figure
          label="Low-stock SKUs"
          value={low.isError ? "—" : lowCount}
          tone={low.data && low.data.items.length > 0 ? "warn" : "ok"}
        />
        <Figure
          label="Open alerts"
          value={alerts.isError ? "—" : count(alerts.data)}
          tone={alerts.data && alerts.data.items.length > 0 ? "warn" : "ok"}
        />
        <Figure
          label="Channels healthy"
          value={channels.isError ? "—" : channels.data ? `${healthy} of ${connections.length}` : "…"}
          tone={troubled > 0 ? "bad" : "ok"}
        />
      </dl>
    </Section>
  );
}

function LowStock() {
  const { data, error, isPending, refetch } = useLowStock();
  return (
    <Section id="low-stock-title" title="Low stock">
      {isPending ? (
        <Loading what="low-stock SKUs" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">Nothing is low: every SKU is at or above its low-stock threshold.</p>
      ) : (
        <>
          <LevelsTable
            levels={data.items.slice(0, SHOWN)}
            caption="SKUs below their low-stock threshold"
            stateOf={(level) => (level.available <= 0 ? "out" : "low")}
          />
          {data.items.length > SHOWN && (
            <p className="muted">
              Showing {SHOWN} of {count(data)}; the <Link href="/inventory">Inventory</Link> page marks every low SKU.
            </p>
          )}
        </>
      )}
    </Section>
  );
}

const STATUS_TONE: Record<Connection["status"], string> = {
  connected: "ok",
  degraded: "warn",
  error: "bad",
  disconnected: "muted",
};

function ChannelHealth() {
  const { data, error, isPending, refetch } = useChannels();
  return (
    <Section id="channels-title" title="Channel health">
      {isPending ? (
        <Loading what="channels" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No channel is connected yet. Connect a store through the API (POST /api/v1/channels).</p>
      ) : (
        <ul className="channels">
          {data.items.map((c) => (
            <li key={c.id} className="channel">
              <div className="channel-head">
                <strong>{c.name}</strong> <span className="muted">{c.type}</span>
                <span className={`badge ${STATUS_TONE[c.status]}`}>{c.status}</span>
              </div>
              <dl className="facts">
                <dt>Last sync</dt>
                <dd>{when(c.health.last_sync_at)}</dd>
                <dt>Last success</dt>
                <dd>{when(c.health.last_success_at)}</dd>
                <dt>Errors</dt>
                <dd>{c.health.error_count}</dd>
                {c.health.last_error && (
                  <>
                    <dt>Last error</dt>
                    <dd className="error-text">{c.health.last_error}</dd>
                  </>
                )}
                {c.status_reason && (
                  <>
                    <dt>Reason</dt>
                    <dd>{c.status_reason}</dd>
                  </>
                )}
              </dl>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

export function OverviewPage() {
  return (
    <>
      <h1>Overview</h1>
      <KeyFigures />
      <SalesAnalytics />
      <div className="columns">
        <LowStock />
        <ChannelHealth />
      </div>
    </>
  );
}
