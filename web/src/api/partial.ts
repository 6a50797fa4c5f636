// Request bodies that leave fields out on purpose. openapi-typescript 7 types every field that has
// a default as required (its defaultNonNullable option), yet on PATCH /products/{id} and PATCH
// /variants/{id} an absent field means "keep" while null means "clear" (or, for image_urls, is
// refused), and POST /prices/bulk with a preview_id refuses any other field. Such a body is
// written with only its fields and typed here.
export function partialBody<T>(fields: Partial<T>): T {
  return fields as T;
}
