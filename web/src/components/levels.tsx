// Stock levels as every page shows them: the SKU page's address, the out / low / ok indicator
// and the table of levels (the Overview's low-stock list and the Inventory page).

import type { components } from "../api/schema";
import { Link } from "../router";

export type Level = components["schemas"]["LevelOut"];
export type StockState = "out" | "low" | "ok";

export function inventoryPath(sku: string): string {
  return `/inventory/${encodeURIComponent(sku)}`;
}

export function StockIndicator({ state }: { state: StockState }) {
  if (state === "out") return <span className="badge bad">Out of stock</span>;
  if (state === "low") return <span className="badge warn">Low</span>;
  return <span className="badge ok">OK</span>;
}

export function LevelsTable({
  levels,
  caption,
  stateOf,
  busy = false,
}: {
  levels: Level[];
  caption: string;
  stateOf: (level: Level) => StockState;
  busy?: boolean;
}) {
  return (
    <div className="table-wrap" aria-busy={busy}>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">SKU</th>
            <th scope="col">Location</th>
            <th scope="col" className="num">
              Available
            </th>
            <th scope="col" className="num">
              On hand
            </th>
            <th scope="col" className="num">
              Reserved
            </th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {levels.map((level) => (
            <tr key={`${level.sku}@${level.location}`}>
              <th scope="row">
                <Link href={inventoryPath(level.sku)}>{level.sku}</Link>
              </th>
              <td>{level.location}</td>
              <td className="num">{level.available}</td>
              <td className="num">{level.on_hand}</td>
              <td className="num">{level.reserved}</td>
              <td>
                <StockIndicator state={stateOf(level)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
