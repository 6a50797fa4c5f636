import { useCallback, useState } from "react";
import type { Pager } from "./ui";

/** Cursors of the pages seen so far (index 0 = the first page, no cursor). */
export function usePager(): Pager & { reset: () => void } {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const next = useCallback((cursor: string) => setCursors((seen) => [...seen, cursor]), []);
  const previous = useCallback(() => setCursors((seen) => (seen.length > 1 ? seen.slice(0, -1) : seen)), []);
  const reset = useCallback(() => setCursors([null]), []);
  return { cursor: cursors[cursors.length - 1] ?? null, page: cursors.length, next, previous, reset };
}
