// Orders: the consolidated list of every channel's orders (filters by channel, status, dates and
// text; keyset paging) and exports of the same filters as CSV or XLSX.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import type { components, operations } from "../api/schema";
import { DownloadButtons, saveDownload, type FileFormat } from "../components/downloads";
import { Failed, Loading, PagerNav, Section, when } from "../components/ui";
import { usePager } from "../components/usePager";
import { Link } from "../router";

type Order = components["schemas"]["OrderOut"];
export type OrderStatus = Order["status"];
type ListQuery = NonNullable<operations["orders_list_orders"]["parameters"]["query"]>;

const PAGE_SIZE = 50;

export const STATUSES: OrderStatus[] = [
  "PENDING",
  "PAID",
  "PARTIALLY_SHIPPED",
  "SHIPPED",
  "DELIVERED",
  "CANCELLED",
  "REFUNDED",
];

// Channel types the API filters by (GET /orders `channel`: a type or a connection id).
const CHANNELS = [
  { value: "shopify", label: "Shopify" },
  { value: "woocommerce", label: "WooCommerce" },
  { value: "manual", label: "Manual" },
];

export const STATUS_TONE: Record<OrderStatus, string> = {
  PENDING: "warn",
  PAID: "ok",
  PARTIALLY_SHIPPED: "warn",
  SHIPPED: "ok",
  DELIVERED: "ok",
  CANCELLED: "muted",
  REFUNDED: "muted",
};

export const FLAG_LABEL: Record<Order["flags"][number], string> = {
  possible_duplicate: "Possible duplicate",
  oversold: "Oversold",
  unmapped_sku: "Unknown SKU",
};

export function statusLabel(status: OrderStatus): string {
  return status.charAt(0) + status.slice(1).toLowerCase().replace("_", " ");
}

export function money(value: components["schemas"]["MoneyOut"] | null | undefined): string {
  if (!value) return "—";
  const amount = Number(value.amount);
  if (!Number.isFinite(amount)) return `${value.amount} ${value.currency}`;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: value.currency }).format(amount);
  } catch {
    return `${value.amount} ${value.currency}`;
  }
}

export function orderPath(id: string): string {
  return `/orders/${encodeURIComponent(id)}`;
}

interface Filters {
  channel: string;
  status: OrderStatus | "";
  from: string; // yyyy-mm-dd (the person's local day)
  to: string; // yyyy-mm-dd, inclusive
  q: string;
}

const NO_FILTERS: Filters = { channel: "", status: "", from: "", to: "", q: "" };

/** The API's filters: local days become RFC 3339 instants, `to` is the start of the next day. */
function toQuery(filters: Filters): ListQuery {
  const startOf = (day: string, plusDays = 0) => {
    const date = new Date(`${day}T00:00:00`);
    date.setDate(date.getDate() + plusDays);
    return date.toISOString();
  };
  return {
    channel: filters.channel || undefined,
    status: filters.status ? [filters.status] : undefined,
    from: filters.from ? startOf(filters.from) : undefined,
    to: filters.to ? startOf(filters.to, 1) : undefined,
    q: filters.q.trim() || undefined,
  };
}

/** The export of the list's filters as a file (see components/downloads.tsx). */
function download(filters: Filters, format: FileFormat): Promise<string> {
  return saveDownload(`Exporting orders as ${format.toUpperCase()} failed`, `orders.${format}`, () =>
    api.GET("/api/v1/orders/export", { params: { query: { ...toQuery(filters), format } }, parseAs: "blob" }),
  );
}

function FilterForm({ applied, apply }: { applied: Filters; apply: (filters: Filters) => void }) {
  const [draft, setDraft] = useState(applied);
  const set = <K extends keyof Filters>(key: K, value: Filters[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const badRange = Boolean(draft.from && draft.to && draft.from > draft.to);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!badRange) apply(draft);
  };
  const reset = () => {
    setDraft(NO_FILTERS);
    apply(NO_FILTERS);
  };
  return (
    <form className="filters" role="search" aria-label="Filter orders" onSubmit={submit}>
      <div className="field">
        <label htmlFor="orders-channel">Channel</label>
        <select id="orders-channel" value={draft.channel} onChange={(e) => set("channel", e.target.value)}>
          <option value="">All channels</option>
          {CHANNELS.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="orders-status">Status</label>
        <select
          id="orders-status"
          value={draft.status}
          onChange={(e) => set("status", e.target.value as OrderStatus | "")}
        >
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="orders-from">From</label>
        <input id="orders-from" type="date" value={draft.from} onChange={(e) => set("from", e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="orders-to">To</label>
        <input
          id="orders-to"
          type="date"
          value={draft.to}
          onChange={(e) => set("to", e.target.value)}
          aria-invalid={badRange ? true : undefined}
          aria-describedby={badRange ? "orders-to-error" : undefined}
        />
        {badRange && (
          <small id="orders-to-error" className="error-text">
            The end date is before the start date.
          </small>
        )}
      </div>
      <div className="field">
        <label htmlFor="orders-q">Search</label>
        <input
          id="orders-q"
          type="search"
          value={draft.q}
          maxLength={200}
          placeholder="Email, order name or SKU"
          onChange={(e) => set("q", e.target.value)}
        />
      </div>
      <div className="actions">
        <button type="submit" disabled={badRange}>
          Apply filters
        </button>
        <button type="button" className="secondary" onClick={reset}>
          Reset
        </button>
      </div>
    </form>
  );
}

export function OrdersPage() {
  const [filters, setFilters] = useState(NO_FILTERS);
  const pager = usePager();
  const orders = useQuery({
    queryKey: ["orders", "list", filters, pager.cursor],
    queryFn: () =>
      request("Loading orders failed", () =>
        api.GET("/api/v1/orders", {
          params: { query: { ...toQuery(filters), limit: PAGE_SIZE, cursor: pager.cursor ?? undefined } },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const apply = (next: Filters) => {
    setFilters(next);
    pager.reset();
  };

  return (
    <>
      <h1>Orders</h1>
      <Section id="orders-title" title="All channels">
        <FilterForm applied={filters} apply={apply} />
        <DownloadButtons label="Export these orders:" download={(format) => download(filters, format)} />
        {orders.isPending ? (
          <Loading what="orders" />
        ) : orders.error ? (
          <Failed error={orders.error} retry={() => void orders.refetch()} />
        ) : orders.data.items.length === 0 ? (
          <p className="empty">
            {filtered ? "No order matches these filters." : "No order yet: orders arrive from connected channels."}
          </p>
        ) : (
          <>
            <div className="table-wrap" aria-busy={orders.isFetching}>
              <table>
                <caption className="visually-hidden">Orders, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Order</th>
                    <th scope="col">Created</th>
                    <th scope="col">Channel</th>
                    <th scope="col">Status</th>
                    <th scope="col">Customer</th>
                    <th scope="col" className="num">
                      Total
                    </th>
                    <th scope="col">Flags</th>
                  </tr>
                </thead>
                <tbody>
                  {orders.data.items.map((order) => (
                    <tr key={order.id}>
                      <th scope="row">
                        <Link href={orderPath(order.id)}>{order.external_name || order.external_id || order.id}</Link>
                      </th>
                      <td>{when(order.created_at)}</td>
                      <td>{order.source}</td>
                      <td>
                        <span className={`badge ${STATUS_TONE[order.status]}`}>{statusLabel(order.status)}</span>
                      </td>
                      <td>{order.customer_name || order.customer_email || "—"}</td>
                      <td className="num">{money(order.total)}</td>
                      <td>
                        <span className="flags">
                          {order.flags.map((flag) => (
                            <span key={flag} className="badge bad">
                              {FLAG_LABEL[flag]}
                            </span>
                          ))}
                        </span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <PagerNav pager={pager} nextCursor={orders.data.next_cursor} label="Order pages" />
          </>
        )}
      </Section>
    </>
  );
}
