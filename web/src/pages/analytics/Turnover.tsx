// Inventory turnover (GET /analytics/inventory-turnover): units sold / average units on hand over
// the period, overall and for the SKUs that turned over fastest. A SKU with nothing on hand has no
// turnover to speak of: "n/a", never an invented 0.
import { DownloadButtons } from "../../components/downloads";
import { Failed, Loading, Section } from "../../components/ui";
import { Link } from "../../router";
import { inventoryPath } from "../Inventory";
import { downloadReport, useTurnover, type Range } from "./data";

const ratio = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function turnoverText(value: number | null | undefined): string {
  return value === null || value === undefined ? "n/a" : `${ratio.format(value)}×`;
}

export function InventoryTurnover({ days }: { days: Range }) {
  const { data, error, isPending, refetch } = useTurnover(days);
  return (
    <Section id="turnover-title" title="Inventory turnover">
      {isPending ? (
        <Loading what="inventory turnover" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : (
        <>
          <dl className="facts">
            <dt>Turnover, all SKUs</dt>
            <dd>{turnoverText(data.overall.turnover)}</dd>
            <dt>Units sold</dt>
            <dd>{data.overall.units_sold}</dd>
            <dt>Average on hand</dt>
            <dd>{ratio.format(data.overall.average_on_hand)}</dd>
          </dl>
          {data.items.length === 0 ? (
            <p className="empty">No stock moved in the last {days} days.</p>
          ) : (
            <>
              <div className="table-wrap">
                <table>
                  <caption className="visually-hidden">SKUs by turnover, fastest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">SKU</th>
                      <th scope="col" className="num">
                        Units sold
                      </th>
                      <th scope="col" className="num">
                        Average on hand
                      </th>
                      <th scope="col" className="num">
                        Turnover
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((item) => (
                      <tr key={item.sku}>
                        <th scope="row">
                          <Link href={inventoryPath(item.sku)}>{item.sku}</Link>
                        </th>
                        <td className="num">{item.units_sold}</td>
                        <td className="num">{ratio.format(item.average_on_hand)}</td>
                        <td className="num">{turnoverText(item.turnover)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <DownloadButtons
                label="Download these SKUs:"
                download={(format) => downloadReport("inventory-turnover", days, format)}
              />
            </>
          )}
        </>
      )}
    </Section>
  );
}
