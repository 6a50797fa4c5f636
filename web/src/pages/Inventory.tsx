// Inventory: stock levels (search by SKU, keyset paging, out / low / ok from each SKU's
// threshold) and, per SKU, its totals, movement history and an adjust form.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, PagerNav, Section } from "../components/ui";
import { usePager } from "../components/usePager";
import { Link } from "../router";

type Level = components["schemas"]["LevelOut"];

const PAGE_SIZE = 50;
// The low-stock set marks the rows of the page; LevelOut carries no threshold, so the page asks
// the server which SKUs are below theirs (GET /inventory?low_stock=true, the overview's filter).
const LOW_LIMIT = 500;

export type StockState = "out" | "low" | "ok";

export function StockIndicator({ state }: { state: StockState }) {
  if (state === "out") return <span className="badge bad">Out of stock</span>;
  if (state === "low") return <span className="badge warn">Low</span>;
  return <span className="badge ok">OK</span>;
}

function levelState(level: Level, low: Set<string>): StockState {
  if (level.available <= 0) return "out";
  return low.has(level.sku) ? "low" : "ok";
}

export function inventoryPath(sku: string): string {
  return `/inventory/${encodeURIComponent(sku)}`;
}

function useLevels(sku: string, cursor: string | null) {
  return useQuery({
    queryKey: ["inventory", "levels", { sku, cursor }],
    queryFn: () =>
      request("Loading stock levels failed", () =>
        api.GET("/api/v1/inventory", {
          params: { query: { sku: sku || undefined, cursor: cursor ?? undefined, limit: PAGE_SIZE } },
        }),
      ),
    placeholderData: (previous) => previous,
  });
}

function useLowSkus(sku: string) {
  return useQuery({
    queryKey: ["inventory", "low_stock", { sku }],
    queryFn: () =>
      request("Loading low-stock SKUs failed", () =>
        api.GET("/api/v1/inventory", {
          params: { query: { low_stock: true, sku: sku || undefined, limit: LOW_LIMIT } },
        }),
      ),
    select: (page) => new Set(page.items.map((level) => level.sku)),
  });
}

function Levels() {
  const [draft, setDraft] = useState("");
  const [sku, setSku] = useState("");
  const pager = usePager();
  const levels = useLevels(sku, pager.cursor);
  const low = useLowSkus(sku);

  const search = (event: FormEvent) => {
    event.preventDefault();
    setSku(draft.trim());
    pager.reset();
  };
  const clear = () => {
    setDraft("");
    setSku("");
    pager.reset();
  };

  return (
    <Section id="levels-title" title="Stock levels">
      <form className="filters" role="search" onSubmit={search}>
        <div className="field">
          <label htmlFor="sku-search">SKU</label>
          <input
            id="sku-search"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            maxLength={128}
            aria-describedby="sku-search-hint"
          />
          <small id="sku-search-hint" className="muted">
            The exact SKU
          </small>
        </div>
        <div className="actions">
          <button type="submit">Search</button>
          {sku && (
            <button type="button" className="secondary" onClick={clear}>
              Show all
            </button>
          )}
        </div>
      </form>
      {low.isError && <p className="error-text">Low-stock marks are missing: {low.error.message}</p>}
      {levels.isPending ? (
        <Loading what="stock levels" />
      ) : levels.error ? (
        <Failed error={levels.error} retry={() => void levels.refetch()} />
      ) : levels.data.items.length === 0 ? (
        <p className="empty">
          {sku ? `No stock is recorded for SKU ${sku}.` : "No stock is recorded yet. Adjust a SKU's stock to start."}
        </p>
      ) : (
        <>
          <div className="table-wrap" aria-busy={levels.isFetching}>
            <table>
              <caption className="visually-hidden">Stock per SKU and location</caption>
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
                {levels.data.items.map((level) => (
                  <tr key={`${level.sku}@${level.location}`}>
                    <th scope="row">
                      <Link href={inventoryPath(level.sku)}>{level.sku}</Link>
                    </th>
                    <td>{level.location}</td>
                    <td className="num">{level.available}</td>
                    <td className="num">{level.on_hand}</td>
                    <td className="num">{level.reserved}</td>
                    <td>
                      <StockIndicator state={levelState(level, low.data ?? new Set())} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <PagerNav pager={pager} nextCursor={levels.data.next_cursor} label="Stock level pages" />
        </>
      )}
    </Section>
  );
}

export function InventoryPage() {
  return (
    <>
      <h1>Inventory</h1>
      <Levels />
    </>
  );
}
