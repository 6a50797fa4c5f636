// The overview's analytics, over the last 7, 30 or 90 UTC days (docs/api.md "Analytics and
// reports"): sales over time (analytics/SalesOverTime.tsx), revenue by channel (a donut per
// currency, with a table as its text equivalent), best sellers, inventory turnover and conversion
// (analytics/*.tsx); each table downloads as CSV or XLSX. The charts are our own SVG (no chart
// library, docs/dashboard.md says why): SVG attributes and CSS classes only, nothing the gateway's
// CSP (`style-src 'self'`) could block.
import { useId, useState } from "react";
import { DownloadButtons } from "../components/downloads";
import { Failed, Loading, Section } from "../components/ui";
import { Link } from "../router";
import { ConversionByChannel } from "./analytics/Conversion";
import {
  RANGES,
  channelLabel,
  downloadReport,
  useBestSellers,
  useRevenue,
  type ChannelRevenue,
  type Range,
} from "./analytics/data";
import { SalesOverTime } from "./analytics/SalesOverTime";
import { InventoryTurnover } from "./analytics/Turnover";
import { inventoryPath } from "./Inventory";
import { money } from "./Orders";

export { channelLabel };

// Enough distinct slices for every channel type the API knows; more wrap around.
const PALETTE_SIZE = 8;

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
      {data && data.items.length > 0 && (
        <DownloadButtons
          label="Download this table:"
          download={(format) => downloadReport("revenue-by-channel", days, format)}
        />
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
      {data && data.items.length > 0 && (
        <DownloadButtons
          label="Download this table:"
          download={(format) => downloadReport("best-sellers", days, format)}
        />
      )}
    </Section>
  );
}

/** The period selector and every analytics section, sharing the chosen period. */
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
      <SalesOverTime days={days} />
      <div className="columns">
        <RevenueByChannel days={days} />
        <BestSellers days={days} />
      </div>
      <div className="columns">
        <InventoryTurnover days={days} />
        <ConversionByChannel days={days} />
      </div>
    </>
  );
}
