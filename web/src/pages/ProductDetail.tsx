// One product: its details and variants (GET /products/{id}); for a role that may write, the edit
// form (PATCH /products/{id}: title, description, status) and a form per variant (PATCH
// /variants/{id}: SKU and price). Each change sends the version it was made on (If-Match), so a
// change made meanwhile by someone else is refused (412, in words) instead of overwritten.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import { partialBody } from "../api/partial";
import { Can, useCan } from "../api/permissions";
import type { components } from "../api/schema";
import { errorFor, Field, formError, TextField } from "../components/fields";
import { Failed, Loading, Section, when } from "../components/ui";
import { inventoryPath } from "../components/levels";
import { Link } from "../router";
import { money } from "./Orders";
import { StatusBadge, StatusField, type ProductStatus } from "./Products";

type Product = components["schemas"]["ProductOut"];
type Variant = components["schemas"]["VariantOut"];
type ProductPatch = components["schemas"]["ProductPatchIn"];
type VariantPatch = components["schemas"]["VariantPatchIn"];

function useProduct(id: string) {
  return useQuery({
    queryKey: ["products", "one", id],
    queryFn: () =>
      request("Loading the product failed", () =>
        api.GET("/api/v1/products/{product_id}", { params: { path: { product_id: id } } }),
      ),
  });
}

function ifMatch(version: number): Record<string, string> {
  return { "If-Match": `"${version}"` };
}

function EditProduct({ product }: { product: Product }) {
  const queryClient = useQueryClient();
  const [title, setTitle] = useState(product.title);
  const [description, setDescription] = useState(product.description);
  const [status, setStatus] = useState<ProductStatus>(product.status);
  // The version this form was filled from; a change made meanwhile elsewhere is refused (412).
  const [version, setVersion] = useState(product.version);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      request("Saving the product failed", () =>
        api.PATCH("/api/v1/products/{product_id}", {
          params: { path: { product_id: product.id } },
          body: partialBody<ProductPatch>({ title: title.trim(), description, status }),
          headers: ifMatch(version),
        }),
      ),
    onSuccess: async (updated) => {
      setVersion(updated.version);
      setSaved(true);
      await queryClient.invalidateQueries({ queryKey: ["products"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    save.mutate();
  };
  const message = formError(save.error, "title", "description", "status");
  return (
    <Section id="edit-title" title="Edit product">
      <form className="form" onSubmit={submit} noValidate>
        <TextField
          id="product-title"
          label="Title"
          error={errorFor(save.error, "title")}
          value={title}
          maxLength={255}
          onChange={(v) => setTitle(v)}
        />
        <Field id="product-description" label="Description" error={errorFor(save.error, "description")}>
          {(control) => (
            <textarea
              {...control}
              rows={4}
              value={description}
              maxLength={20_000}
              onChange={(e) => setDescription(e.target.value)}
            />
          )}
        </Field>
        <StatusField id="product-status" value={status} onChange={setStatus} error={errorFor(save.error, "status")} />
        <div className="actions">
          <button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save product"}
          </button>
        </div>
        {message && (
          <p className="error-text" role="alert">
            {message}
          </p>
        )}
        {saved && !save.isPending && (
          <p className="ok-text" role="status">
            Saved.
          </p>
        )}
      </form>
    </Section>
  );
}

function EditVariant({ variant }: { variant: Variant }) {
  const queryClient = useQueryClient();
  const [sku, setSku] = useState(variant.sku);
  const [amount, setAmount] = useState(variant.price.amount);
  const [currency, setCurrency] = useState(variant.price.currency);
  const [version, setVersion] = useState(variant.version);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      request(`Saving variant ${variant.sku} failed`, () =>
        api.PATCH("/api/v1/variants/{variant_id}", {
          params: { path: { variant_id: variant.id } },
          body: partialBody<VariantPatch>({
            sku: sku.trim(),
            price: { amount: amount.trim(), currency: currency.trim().toUpperCase() },
          }),
          headers: ifMatch(version),
        }),
      ),
    onSuccess: async (updated) => {
      setVersion(updated.version);
      setSaved(true);
      await queryClient.invalidateQueries({ queryKey: ["products"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    save.mutate();
  };
  const id = `variant-${variant.id}`;
  const message = formError(save.error, "sku", "price", "amount", "currency");
  return (
    <form className="form variant" onSubmit={submit} noValidate aria-label={`Variant ${variant.sku}`}>
      <div className="variant-fields">
        <TextField
          id={`${id}-sku`}
          label="SKU"
          error={errorFor(save.error, "sku")}
          value={sku}
          maxLength={64}
          onChange={(v) => setSku(v)}
        />
        <TextField
          id={`${id}-price`}
          label="Price"
          error={errorFor(save.error, "amount", "price")}
          inputMode="decimal"
          value={amount}
          onChange={(v) => setAmount(v)}
        />
        <TextField
          id={`${id}-currency`}
          label="Currency"
          error={errorFor(save.error, "currency")}
          value={currency}
          maxLength={3}
          size={4}
          onChange={(v) => setCurrency(v)}
        />
      </div>
      {Object.keys(variant.options).length > 0 && (
        <p className="muted">{Object.entries(variant.options).map(([k, v]) => `${k}: ${v}`).join(" · ")}</p>
      )}
      <div className="actions">
        <button type="submit" className="secondary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save variant"}
        </button>
        <Link href={inventoryPath(variant.sku)}>Stock</Link>
      </div>
      {message && (
        <p className="error-text" role="alert">
          {message}
        </p>
      )}
      {saved && !save.isPending && (
        <p className="ok-text" role="status">
          Saved {variant.sku}.
        </p>
      )}
    </form>
  );
}

function Variants({ product }: { product: Product }) {
  const canWrite = useCan("catalog:write");
  if (product.variants.length === 0) {
    return (
      <Section id="variants-title" title="Variants">
        <p className="empty">This product has no variant yet.</p>
      </Section>
    );
  }
  return (
    <Section id="variants-title" title="Variants">
      {canWrite ? (
        product.variants.map((v) => <EditVariant key={v.id} variant={v} />)
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Variants of {product.title}</caption>
            <thead>
              <tr>
                <th scope="col">SKU</th>
                <th scope="col" className="num">
                  Price
                </th>
                <th scope="col">Options</th>
                <th scope="col">Barcode</th>
              </tr>
            </thead>
            <tbody>
              {product.variants.map((v) => (
                <tr key={v.id}>
                  <th scope="row">
                    <Link href={inventoryPath(v.sku)}>{v.sku}</Link>
                  </th>
                  <td className="num">{money(v.price)}</td>
                  <td>{Object.entries(v.options).map(([k, value]) => `${k}: ${value}`).join(", ") || "—"}</td>
                  <td>{v.barcode ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

export function ProductDetailPage({ id }: { id: string }) {
  const { data, error, isPending, refetch } = useProduct(id);
  return (
    <>
      <p className="crumbs">
        <Link href="/products">← Products</Link>
      </p>
      {isPending ? (
        <Loading what="the product" />
      ) : error ? (
        <>
          <h1>Product</h1>
          <Failed error={error} retry={() => void refetch()} />
        </>
      ) : (
        <>
          <h1 className="wrap">{data.title}</h1>
          <div className="columns">
            <div>
              <Section id="details-title" title="Details">
                <dl className="facts">
                  <dt>Status</dt>
                  <dd>
                    <StatusBadge status={data.status} />
                  </dd>
                  <dt>Description</dt>
                  <dd>{data.description || "—"}</dd>
                  <dt>Variants</dt>
                  <dd>{data.variants.length}</dd>
                  <dt>Updated</dt>
                  <dd>{when(data.updated_at)}</dd>
                  <dt>Created</dt>
                  <dd>{when(data.created_at)}</dd>
                </dl>
              </Section>
              <Variants product={data} />
            </div>
            <Can permission="catalog:write">
              <EditProduct product={data} />
            </Can>
          </div>
        </>
      )}
    </>
  );
}
