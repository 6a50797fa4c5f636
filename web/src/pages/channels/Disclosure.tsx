// A connection card's section that loads only when opened (a heading, a Show/Hide button with
// aria-expanded, and its body): a card stays short on a phone and asks nothing until needed.
import { useState, type ReactNode } from "react";

interface DisclosureProps {
  id: string;
  title: string;
  /** "mappings": the button says "Show mappings" / "Hide mappings". */
  what: string;
  /** Called only while open, so nothing inside loads before. */
  children: () => ReactNode;
}

export function Disclosure({ id, title, what, children }: DisclosureProps) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <h3>{title}</h3>
      <button type="button" className="secondary" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
        {open ? `Hide ${what}` : `Show ${what}`}
      </button>
      <div id={id} hidden={!open} className="stack">
        {open && children()}
      </div>
    </>
  );
}
