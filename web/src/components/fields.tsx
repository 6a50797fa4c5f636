// A labelled form control with its problem+json field error beside it (aria-invalid and
// aria-describedby), and the rule for what is left to say under the form. The adjust form on a
// SKU's page spells this out by hand; the product and pricing forms share it from here.
import { useId, type InputHTMLAttributes, type ReactNode } from "react";
import { fieldErrors } from "../api/client";

/** The server names a field by its path: "title", "product.title", "price.amount", "variants[0].sku". */
function matches(field: string, name: string): boolean {
  return (
    field === name ||
    field.endsWith(`.${name}`) ||
    field.startsWith(`${name}.`) ||
    field.startsWith(`${name}[`) ||
    new RegExp(`\\.${name}[.[]`).test(field)
  );
}

/** The messages of every field error of `error` about `name` (or one of `names`). */
export function errorFor(error: unknown, ...names: string[]): string | undefined {
  const hits = Object.entries(fieldErrors(error)).filter(([field]) => names.some((name) => matches(field, name)));
  return hits.length ? hits.map(([, message]) => message).join("; ") : undefined;
}

/** The whole message, unless each of its field errors already sits next to one of `shown`. */
export function formError(error: Error | null, ...shown: string[]): string | null {
  if (!error) return null;
  const fields = Object.keys(fieldErrors(error));
  const allBeside = fields.length > 0 && fields.every((field) => shown.some((name) => matches(field, name)));
  return allBeside ? null : error.message;
}

export interface ControlProps {
  id: string;
  "aria-invalid"?: true;
  "aria-describedby"?: string;
}

export function Field({
  id,
  label,
  error,
  hint,
  children,
}: {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
  children: (control: ControlProps) => ReactNode;
}) {
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": described || undefined })}
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="error-text">
          {error}
        </small>
      )}
    </div>
  );
}

/** A labelled text input (a Field around an <input>), the common case; any other <input>
 * attribute (type, required, maxLength, inputMode, placeholder…) passes through. */
export function TextField({
  id,
  label,
  value,
  onChange,
  error,
  hint,
  ...input
}: Omit<InputHTMLAttributes<HTMLInputElement>, "onChange" | "value" | "id"> & {
  id?: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: string;
}) {
  const generated = useId();
  return (
    <Field id={id ?? generated} label={label} error={error} hint={hint}>
      {(control) => <input {...control} {...input} value={value} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );
}

/** Under a form: the problem in words unless every field error sits next to one of `shown`
 * (formError), and the success line. */
export function FormOutcome({ error, shown, saved }: { error: Error | null; shown: string[]; saved: string | null }) {
  const message = formError(error, ...shown);
  return (
    <>
      {message && (
        <p className="error-text" role="alert">
          {message}
        </p>
      )}
      {saved && (
        <p className="ok-text" role="status">
          {saved}
        </p>
      )}
    </>
  );
}
