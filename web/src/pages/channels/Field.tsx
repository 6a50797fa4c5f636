// One labelled input with its error beside it (aria-invalid + aria-describedby), the way every
// form of the Channels pages shows a local check or a problem's field error.
import { useId, type InputHTMLAttributes } from "react";

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "onChange" | "value"> {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: string;
}

export function Field({ label, value, onChange, error, hint, ...input }: FieldProps) {
  const id = useId();
  const described = [error ? `${id}-error` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
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

/** The whole problem under a form unless each of its fields is already shown next to an input. */
export function formError(error: Error | null, errors: Record<string, string>, beside: string[]): string | null {
  if (!error) return null;
  const fields = Object.keys(errors);
  return fields.length === 0 || fields.some((f) => !beside.includes(f)) ? error.message : null;
}
