// Inventory: stock levels (search by SKU, keyset paging, out / low / ok from each SKU's
// threshold) and, per SKU, its totals, movement history and an adjust form.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import { Failed, Loading, PagerNav, Section } from "../components/ui";
import { usePager } from "../components/usePager";
import { LevelsTable, type Level, type StockState } from "../components/levels";


const PAGE_SIZE = 50;
// The low-stock set marks the rows of the page; LevelOut carries no threshold, so the page asks
// the server which SKUs are below theirs (GET /inventory?low_stock=true, the overview's filter).
const LOW_LIMIT = 500;

function levelState(level: Level, low: Set<string>): StockState {
  if (level.available <= 0) return "out";
  return low.has(level.sku) ? "low" : "ok";
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
          <LevelsTable
            levels={levels.data.items}
            caption="Stock per SKU and location"
            stateOf={(level) => levelState(level, low.data ?? new Set())}
            busy={levels.isFetching}
          />
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

// The pages that link to a SKU's page import its address from here too.
export { inventoryPath, StockIndicator, type StockState } from "../components/levels";
