// Products: the catalog (text search over titles and SKUs, a status filter, keyset paging), a
// new-product form and the CSV import with its progress bar and row errors. Every change
// invalidates the ["products", …] queries, so the list, a product's page and the overview refetch.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import { Can } from "../api/permissions";
import { importProducts, type ImportProgress, type ImportReport } from "../api/productImport";
import type { components } from "../api/schema";
import { errorFor, Field, formError, TextField } from "../components/fields";
import { Failed, Loading, PagerNav, Section, when } from "../components/ui";
import { usePager } from "../components/usePager";
import { Link, navigate } from "../router";
import { money } from "./Orders";

type Product = components["schemas"]["ProductOut"];
export type ProductStatus = Product["status"];

const PAGE_SIZE = 50;
export const PRODUCT_STATUSES: { value: ProductStatus; label: string }[] = [
  { value: "active", label: "Active" },
  { value: "draft", label: "Draft" },
  { value: "archived", label: "Archived" },
];
const STATUS_TONE: Record<ProductStatus, string> = { active: "ok", draft: "muted", archived: "warn" };

export function productPath(id: string): string {
  return `/products/${encodeURIComponent(id)}`;
}

/** The product status select of the new-product and edit forms. */
export function StatusField({
  id,
  value,
  onChange,
  error,
}: {
  id: string;
  value: ProductStatus;
  onChange: (status: ProductStatus) => void;
  error: string | undefined;
}) {
  return (
    <Field id={id} label="Status" error={error}>
      {(control) => (
        <select {...control} value={value} onChange={(e) => onChange(e.target.value as ProductStatus)}>
          {PRODUCT_STATUSES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function StatusBadge({ status }: { status: ProductStatus }) {
  const label = PRODUCT_STATUSES.find((s) => s.value === status)?.label ?? status;
  return <span className={`badge ${STATUS_TONE[status]}`}>{label}</span>;
}

function skus(product: Product): string {
  const [first, ...rest] = product.variants;
  if (!first) return "no variant";
  return rest.length ? `${first.sku} +${rest.length} more` : first.sku;
}

function price(product: Product): string {
  const prices = product.variants.map((v) => v.price);
  const first = prices[0];
  if (!first) return "—";
  const amounts = prices.filter((p) => p.currency === first.currency).map((p) => Number(p.amount));
  const low = Math.min(...amounts);
  const high = Math.max(...amounts);
  if (low === high || !Number.isFinite(low) || !Number.isFinite(high)) return money(first);
  return `${money({ amount: String(low), currency: first.currency })} – ${money({ amount: String(high), currency: first.currency })}`;
}

interface Filters {
  q: string;
  status: ProductStatus | "";
}

function ProductList() {
  const [draft, setDraft] = useState<Filters>({ q: "", status: "" });
  const [filters, setFilters] = useState<Filters>({ q: "", status: "" });
  const pager = usePager();
  const products = useQuery({
    queryKey: ["products", "list", filters, pager.cursor],
    queryFn: () =>
      request("Loading products failed", () =>
        api.GET("/api/v1/products", {
          params: {
            query: {
              q: filters.q || undefined,
              status: filters.status || undefined,
              limit: PAGE_SIZE,
              cursor: pager.cursor ?? undefined,
            },
          },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  const filtered = Boolean(filters.q || filters.status);

  const search = (event: FormEvent) => {
    event.preventDefault();
    setFilters({ q: draft.q.trim(), status: draft.status });
    pager.reset();
  };
  const clear = () => {
    setDraft({ q: "", status: "" });
    setFilters({ q: "", status: "" });
    pager.reset();
  };

  return (
    <Section id="catalog-title" title="Catalog">
      <form className="filters" role="search" onSubmit={search}>
        <div className="field">
          <label htmlFor="product-search">Title or SKU</label>
          <input
            id="product-search"
            value={draft.q}
            maxLength={200}
            onChange={(e) => setDraft({ ...draft, q: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="product-status">Status</label>
          <select
            id="product-status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.target.value as ProductStatus | "" })}
          >
            <option value="">Any</option>
            {PRODUCT_STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="actions">
          <button type="submit">Search</button>
          {filtered && (
            <button type="button" className="secondary" onClick={clear}>
              Show all
            </button>
          )}
        </div>
      </form>
      {products.isPending ? (
        <Loading what="products" />
      ) : products.error ? (
        <Failed error={products.error} retry={() => void products.refetch()} />
      ) : products.data.items.length === 0 ? (
        <p className="empty">
          {filtered ? "No product matches this search." : "No product yet. Create one or import a CSV file."}
        </p>
      ) : (
        <>
          <div className="table-wrap" aria-busy={products.isFetching || undefined}>
            <table>
              <caption className="visually-hidden">Products</caption>
              <thead>
                <tr>
                  <th scope="col">Title</th>
                  <th scope="col">Status</th>
                  <th scope="col">SKUs</th>
                  <th scope="col" className="num">
                    Price
                  </th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {products.data.items.map((product) => (
                  <tr key={product.id}>
                    <th scope="row" className="text">
                      <Link href={productPath(product.id)}>{product.title}</Link>
                    </th>
                    <td>
                      <StatusBadge status={product.status} />
                    </td>
                    <td>{skus(product)}</td>
                    <td className="num">{price(product)}</td>
                    <td>{when(product.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <PagerNav pager={pager} nextCursor={products.data.next_cursor} label="Product pages" />
        </>
      )}
    </Section>
  );
}

function NewProduct() {
  const queryClient = useQueryClient();
  const [title, setTitle] = useState("");
  const [status, setStatus] = useState<ProductStatus>("draft");
  const [sku, setSku] = useState("");
  const [amount, setAmount] = useState("");
  const [currency, setCurrency] = useState("USD");
  const create = useMutation({
    mutationFn: () =>
      request("Creating the product failed", () =>
        api.POST("/api/v1/products", {
          body: {
            title: title.trim(),
            status,
            description: "",
            image_urls: [],
            variants: sku.trim()
              ? [
                  {
                    sku: sku.trim(),
                    price: { amount: amount.trim(), currency: currency.trim().toUpperCase() },
                    cost: null,
                    barcode: null,
                    options: null,
                    weight_grams: null,
                  },
                ]
              : [],
          },
        }),
      ),
    onSuccess: async (product) => {
      await queryClient.invalidateQueries({ queryKey: ["products"] });
      navigate(productPath(product.id));
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const message = formError(create.error, "title", "status", "sku", "price", "currency");
  return (
    <Section id="new-product-title" title="New product">
      <form className="form" onSubmit={submit} noValidate>
        <TextField
          id="new-title"
          label="Title"
          error={errorFor(create.error, "title")}
          value={title}
          maxLength={255}
          onChange={(v) => setTitle(v)}
        />
        <StatusField id="new-status" value={status} onChange={setStatus} error={errorFor(create.error, "status")} />
        <TextField
          id="new-sku"
          label="SKU"
          hint="Optional: the first variant"
          error={errorFor(create.error, "sku")}
          value={sku}
          maxLength={64}
          onChange={(v) => setSku(v)}
        />
        {sku.trim() && (
          <>
            <TextField
              id="new-price"
              label="Price"
              hint="e.g. 19.99"
              error={errorFor(create.error, "amount", "price")}
              inputMode="decimal"
              value={amount}
              onChange={(v) => setAmount(v)}
            />
            <TextField
              id="new-currency"
              label="Currency"
              error={errorFor(create.error, "currency")}
              value={currency}
              maxLength={3}
              onChange={(v) => setCurrency(v)}
            />
          </>
        )}
        <div className="actions">
          <button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create product"}
          </button>
        </div>
        {message && (
          <p className="error-text" role="alert">
            {message}
          </p>
        )}
      </form>
    </Section>
  );
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function ImportReportView({ report }: { report: ImportReport }) {
  const failed = report.errors.length + report.errors_not_listed;
  return (
    <div className="import-report">
      <p role="status">
        Import finished: {report.rows} {report.rows === 1 ? "row" : "rows"} read, {report.created} created,{" "}
        {report.updated} updated, {report.unchanged} unchanged
        {failed ? `, ${failed} with errors` : ""}.
      </p>
      {report.errors.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption>Rows with errors (not imported)</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  Row
                </th>
                <th scope="col">Column</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((e, index) => (
                <tr key={`${e.row}-${e.column}-${index}`}>
                  <th scope="row" className="num">
                    {e.row}
                  </th>
                  <td>{e.column || "—"}</td>
                  <td className="wrap">{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {report.errors_not_listed > 0 && (
        <p className="muted">…and {report.errors_not_listed} more row errors, not listed. Fix these and import again.</p>
      )}
    </div>
  );
}

function ImportCsv() {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const run = useMutation({
    mutationFn: (chosen: File) => importProducts(chosen, setProgress),
    onSuccess: () => setProgress((p) => (p ? { done: p.total, total: p.total } : p)),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["products"] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setProgress({ done: 0, total: file.size });
    run.mutate(file);
  };
  const percent = progress && progress.total > 0 ? Math.round((progress.done / progress.total) * 100) : 0;
  const message = formError(run.error, "file");
  return (
    <Section id="import-title" title="Import from CSV">
      <form className="form" onSubmit={submit} noValidate>
        <Field
          id="import-file"
          label="Product CSV file"
          hint="One row per variant; product_title, sku and price are required (also: currency, cost, barcode, option1_name…, status, quantity, location)"
          error={errorFor(run.error, "file")}
        >
          {(control) => (
            <input
              {...control}
              type="file"
              accept=".csv,text/csv"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                run.reset();
                setProgress(null);
              }}
            />
          )}
        </Field>
        <div className="actions">
          <button type="submit" disabled={!file || run.isPending}>
            {run.isPending ? "Importing…" : "Import"}
          </button>
        </div>
      </form>
      {progress && (run.isPending || run.isSuccess) && (
        <div className="import-progress">
          <label htmlFor="import-progress">Import progress</label>
          <progress id="import-progress" max={100} value={percent} aria-valuetext={`${percent}%`}>
            {percent}%
          </progress>
          <span role="status" aria-live="polite" data-testid="import-percent">
            {run.isSuccess
              ? "100% — done"
              : percent >= 100
                ? "100% sent — the catalog is finishing the import…"
                : `${percent}% (${size(progress.done)} of ${size(progress.total)})`}
          </span>
        </div>
      )}
      {message && (
        <p className="error-text" role="alert">
          {message}
        </p>
      )}
      {run.data && <ImportReportView report={run.data} />}
    </Section>
  );
}

export function ProductsPage() {
  return (
    <>
      <h1>Products</h1>
      <div className="columns">
        <div>
          <ProductList />
        </div>
        <Can permission="catalog:write">
          <div>
            <ImportCsv />
            <NewProduct />
          </div>
        </Can>
      </div>
    </>
  );
}
