// The overview's sales sections: revenue by channel (a donut per currency, with a table as its
// text equivalent) and best sellers, over the last 7, 30 or 90 UTC days (docs/api.md "Analytics
// and reports"). The donut is our own SVG (no chart library, docs/dashboard.md says why): SVG
// attributes and CSS classes only, nothing the gateway's CSP (`style-src 'self'`) could block.
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { api, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, Section } from "../components/ui";
import { Link } from "../router";
import { inventoryPath } from "./Inventory";
import { money } from "./Orders";

type ChannelRevenue = components["schemas"]["ChannelRevenueOut"];

export const RANGES = [7, 30, 90] as const;
export type Range = (typeof RANGES)[number];
const REFRESH_MS = 30_000;
// Enough distinct slices for every channel type the API knows; more wrap around.
const PALETTE_SIZE = 8;

/** The API's `from`/`to` (UTC days, both inclusive) for the last `days` days ending today. */
export function utcRange(days: number, now: Date = new Date()): { from: string; to: string } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

function useRevenue(days: Range) {
  return useQuery({
    queryKey: ["analytics", "revenue-by-channel", days],
    queryFn: () =>
      request("Loading revenue by channel failed", () =>
        api.GET("/api/v1/analytics/revenue-by-channel", { params: { query: utcRange(days) } }),
      ),
    refetchInterval: REFRESH_MS,
  });
}

function useBestSellers(days: Range) {
  return useQuery({
    queryKey: ["analytics", "best-sellers", days],
    queryFn: () =>
      request("Loading best sellers failed", () =>
        api.GET("/api/v1/analytics/best-sellers", { params: { query: { ...utcRange(days), limit: 10 } } }),
      ),
    refetchInterval: REFRESH_MS,
  });
}

const CHANNEL_LABEL: Record<string, string> = {
  shopify: "Shopify",
  woocommerce: "WooCommerce",
  manual: "Manual",
};

export function channelLabel(channel: string): string {
  return CHANNEL_LABEL[channel] ?? channel;
}

function percent(share: number): string {
  return new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(share);
}

/** Items per currency, in the order the currencies first appear (shares are per currency). */
function byCurrency(items: ChannelRevenue[]): [string, ChannelRevenue[]][] {
  const groups = new Map<string, ChannelRevenue[]>();
  for (const item of items) {
    const list = groups.get(item.revenue.currency) ?? [];
    list.push(item);
    groups.set(item.revenue.currency, list);
  }
  return [...groups.entries()];
}

// A donut from stroked circles: each slice is a dash of length share × circumference, offset by
// the shares before it. SVG attributes, not styles, so the CSP has nothing to object to.
const RADIUS = 15.9155; // circumference 100: a share in percent is the dash length
const CIRCUMFERENCE = 2 * Math.PI * RADIUS;

function Donut({ currency, items }: { currency: string; items: ChannelRevenue[] }) {
  const label = `Revenue in ${currency} by channel: ${items
    .map((i) => `${channelLabel(i.channel)} ${percent(i.share)}`)
    .join(", ")}`;
  // Each slice starts where the shares before it end.
  const starts = items.map((_, index) => items.slice(0, index).reduce((sum, i) => sum + i.share, 0));
  return (
    <svg className="donut" viewBox="0 0 42 42" role="img" aria-label={label}>
      <circle className="donut-hole" cx="21" cy="21" r={RADIUS} fill="none" strokeWidth="6" />
      {items.map((item, index) => {
        const length = Math.max(0, Math.min(1, item.share)) * CIRCUMFERENCE;
        const offset = -(starts[index] ?? 0) * CIRCUMFERENCE;
        return (
          <circle
            key={item.channel}
            className={`slice slice-${index % PALETTE_SIZE}`}
            cx="21"
            cy="21"
            r={RADIUS}
            fill="none"
            strokeWidth="6"
            strokeDasharray={`${length} ${CIRCUMFERENCE - length}`}
            strokeDashoffset={offset}
            transform="rotate(-90 21 21)"
          />
        );
      })}
    </svg>
  );
}

function RevenueTable({ currency, items }: { currency: string; items: ChannelRevenue[] }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Revenue in {currency} by channel</caption>
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col" className="num">
              Revenue
            </th>
            <th scope="col" className="num">
              Share
            </th>
            <th scope="col" className="num">
              Orders
            </th>
            <th scope="col" className="num">
              Units
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((item, index) => (
            <tr key={item.channel}>
              <th scope="row">
                <span className={`swatch slice-${index % PALETTE_SIZE}`} aria-hidden="true" />
                {channelLabel(item.channel)}
              </th>
              <td className="num">{money(item.revenue)}</td>
              <td className="num">{percent(item.share)}</td>
              <td className="num">{item.orders}</td>
              <td className="num">{item.units}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RevenueByChannel({ days }: { days: Range }) {
  const { data, error, isPending, refetch } = useRevenue(days);
  return (
    <Section id="revenue-title" title="Revenue by channel">
      {isPending ? (
        <Loading what="revenue by channel" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No sales in the last {days} days.</p>
      ) : (
        byCurrency(data.items).map(([currency, items]) => (
          <figure key={currency} className="chart">
            <figcaption>
              {currency}, {data.from_date} to {data.to_date} (UTC)
            </figcaption>
            <div className="chart-body">
              <Donut currency={currency} items={items} />
              <RevenueTable currency={currency} items={items} />
            </div>
          </figure>
        ))
      )}
    </Section>
  );
}

function BestSellers({ days }: { days: Range }) {
  const { data, error, isPending, refetch } = useBestSellers(days);
  return (
    <Section id="best-sellers-title" title="Best sellers">
      {isPending ? (
        <Loading what="best sellers" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No sales in the last {days} days.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">SKUs with the most units sold, most first</caption>
            <thead>
              <tr>
                <th scope="col">SKU</th>
                <th scope="col" className="num">
                  Units
                </th>
                <th scope="col" className="num">
                  Revenue
                </th>
                <th scope="col" className="num">
                  Orders
                </th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((item) => (
                <tr key={`${item.sku}/${item.revenue.currency}`}>
                  <th scope="row">
                    <Link href={inventoryPath(item.sku)}>{item.sku}</Link>
                  </th>
                  <td className="num">{item.units}</td>
                  <td className="num">{money(item.revenue)}</td>
                  <td className="num">{item.orders}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** The date-range selector and both sales sections, sharing the chosen range. */
export function SalesAnalytics() {
  const [days, setDays] = useState<Range>(30);
  const selectId = useId();
  return (
    <>
      <div className="field range">
        <label htmlFor={selectId}>Sales period</label>
        <select id={selectId} value={days} onChange={(e) => setDays(Number(e.target.value) as Range)}>
          {RANGES.map((n) => (
            <option key={n} value={n}>
              Last {n} days
            </option>
          ))}
        </select>
      </div>
      <div className="columns">
        <RevenueByChannel days={days} />
        <BestSellers days={days} />
      </div>
    </>
  );
}
