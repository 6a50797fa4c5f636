// The building blocks every page shares, so loading, failure and empty states look and read the
// same everywhere (the overview's, first written there).
import type { ReactNode } from "react";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(value: string | null | undefined): string {
  if (!value) return "never";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateFormat.format(date);
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Failed({ error, retry }: { error: Error; retry: () => void }) {
  return (
    <div className="error" role="alert">
      <p>{error.message}</p>
      <button type="button" className="secondary" onClick={retry}>
        Try again
      </button>
    </div>
  );
}

export function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section aria-labelledby={id} className="card">
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** Keyset paging: the server hands out only a "next" cursor, so usePager keeps the ones seen. */
export interface Pager {
  cursor: string | null;
  page: number;
  next: (cursor: string) => void;
  previous: () => void;
}

export function PagerNav({ pager, nextCursor, label }: { pager: Pager; nextCursor: string | null | undefined; label: string }) {
  if (pager.page === 1 && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" disabled={pager.page === 1} onClick={pager.previous}>
        Previous
      </button>
      <span className="muted">Page {pager.page}</span>
      <button
        type="button"
        className="secondary"
        disabled={!nextCursor}
        onClick={() => nextCursor && pager.next(nextCursor)}
      >
        Next
      </button>
    </nav>
  );
}

