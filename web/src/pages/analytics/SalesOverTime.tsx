// Sales over time (GET /analytics/sales-over-time): one bar chart per currency, a bar per UTC day
// of the period (the API lists every day, zeros included, so the axis has no gaps). Our own SVG
// like the revenue donut: attributes and CSS classes only (the CSP allows no injected styles). The
// SVG is role="img" with a summary as its aria-label; the figures of every day are in a table under
// a disclosure, the chart's text equivalent.
import { Failed, Loading, Section } from "../../components/ui";
import { money } from "../Orders";
import { DownloadButtons } from "../../components/downloads";
import { downloadReport, useSalesOverTime, type DailySales, type Range } from "./data";

// The chart's own coordinates: each day is BAR_STEP wide, the tallest bar CHART_HEIGHT high; the
// SVG scales to its box (preserveAspectRatio="none"), so these are proportions, not pixels.
const BAR_STEP = 10;
const BAR_WIDTH = 8;
const CHART_HEIGHT = 100;

/** Days per currency, in the order the API sends them (by currency, then day). */
function byCurrency(items: DailySales[]): [string, DailySales[]][] {
  const groups = new Map<string, DailySales[]>();
  for (const item of items) {
    const list = groups.get(item.revenue.currency) ?? [];
    list.push(item);
    groups.set(item.revenue.currency, list);
  }
  return [...groups.entries()];
}

function amount(day: DailySales): number {
  const value = Number(day.revenue.amount);
  return Number.isFinite(value) ? value : 0;
}

/** A total of decimal strings without floating-point noise: summed in minor units of the largest scale. */
function total(days: DailySales[], currency: string): string {
  const scale = Math.max(0, ...days.map((d) => d.revenue.amount.split(".")[1]?.length ?? 0));
  const minor = days.reduce((sum, d) => sum + Math.round(amount(d) * 10 ** scale), 0);
  return money({ amount: (minor / 10 ** scale).toFixed(scale), currency });
}

export function summary(currency: string, days: DailySales[]): string {
  const first = days[0]?.day ?? "";
  const last = days[days.length - 1]?.day ?? "";
  const selling = days.filter((d) => d.orders > 0 || amount(d) !== 0);
  const best = days.reduce<DailySales | undefined>((top, d) => (!top || amount(d) > amount(top) ? d : top), undefined);
  const parts = [
    `Revenue in ${currency} per day, ${first} to ${last}: ${total(days, currency)} in total`,
    `${selling.length} of ${days.length} days with sales`,
  ];
  if (best && amount(best) > 0) parts.push(`highest ${money(best.revenue)} on ${best.day}`);
  return parts.join("; ");
}

function Bars({ currency, days }: { currency: string; days: DailySales[] }) {
  const top = Math.max(0, ...days.map(amount));
  const width = days.length * BAR_STEP;
  return (
    <svg
      className="bars"
      viewBox={`0 0 ${width} ${CHART_HEIGHT}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={summary(currency, days)}
    >
      <line className="bars-axis" x1="0" y1={CHART_HEIGHT} x2={width} y2={CHART_HEIGHT} vectorEffect="non-scaling-stroke" />
      {days.map((day, index) => {
        const height = top > 0 ? (Math.max(0, amount(day)) / top) * CHART_HEIGHT : 0;
        return (
          <rect
            key={day.day}
            className="bar"
            x={index * BAR_STEP + (BAR_STEP - BAR_WIDTH) / 2}
            y={CHART_HEIGHT - height}
            width={BAR_WIDTH}
            height={height}
          >
            <title>
              {day.day}: {money(day.revenue)}
            </title>
          </rect>
        );
      })}
    </svg>
  );
}

function DaysTable({ currency, days }: { currency: string; days: DailySales[] }) {
  return (
    <details className="chart-data">
      <summary>Figures per day ({currency})</summary>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Revenue, orders and units in {currency} per UTC day</caption>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col" className="num">
                Revenue
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
            {days.map((day) => (
              <tr key={day.day}>
                <th scope="row">{day.day}</th>
                <td className="num">{money(day.revenue)}</td>
                <td className="num">{day.orders}</td>
                <td className="num">{day.units}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

export function SalesOverTime({ days }: { days: Range }) {
  const { data, error, isPending, refetch } = useSalesOverTime(days);
  return (
    <Section id="sales-over-time-title" title="Sales over time">
      {isPending ? (
        <Loading what="sales over time" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No sales in the last {days} days.</p>
      ) : (
        <>
          {byCurrency(data.items).map(([currency, series]) => (
            <figure key={currency} className="chart">
              <figcaption>
                {currency}, {data.from_date} to {data.to_date} (UTC): {total(series, currency)}
              </figcaption>
              <Bars currency={currency} days={series} />
              <div className="bars-scale muted" aria-hidden="true">
                <span>{series[0]?.day}</span>
                <span>{series[series.length - 1]?.day}</span>
              </div>
              <DaysTable currency={currency} days={series} />
            </figure>
          ))}
          <DownloadButtons
            label="Download the figures per day:"
            download={(format) => downloadReport("sales-over-time", days, format)}
          />
        </>
      )}
    </Section>
  );
}
