// What the signed-in user's role allows, from GET /me (`permissions`, the gateway's one policy).
// Write controls render only when allowed: a viewer sees no button the API would refuse.
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { api, request } from "./client";
import type { components } from "./schema";

export type Me = components["schemas"]["MeOut"];

/** The permission names the gateway checks, e.g. "inventory:write", "channels:manage". */
export type Permission =
  | "catalog:write"
  | "inventory:write"
  | "channels:write"
  | "channels:manage"
  | "orders:write"
  | "pricing:write"
  | "users:manage";

export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: () => request("Loading your account failed", () => api.GET("/api/v1/me")),
    staleTime: 5 * 60_000,
  });
}

/** False until /me has answered, so a write control never flashes for a viewer. */
export function useCan(permission: Permission): boolean {
  const { data } = useMe();
  return data?.permissions.includes(permission) ?? false;
}

/** Renders its children only when the user may `permission`. */
export function Can({ permission, children }: { permission: Permission; children: ReactNode }) {
  return useCan(permission) ? <>{children}</> : null;
}
