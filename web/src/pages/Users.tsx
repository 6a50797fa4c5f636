// Users and roles of the tenant: the list, a new user, a role change and removal. Owners and
// admins only (users:manage); the gateway enforces the rest (an admin cannot touch owners, the
// last owner stays) and its refusals are shown in words. Changes are conditional on the version
// the page showed (If-Match), so two people editing the same user cannot overwrite each other.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, fieldErrors, request } from "../api/client";
import { useCan, useMe } from "../api/permissions";
import type { components } from "../api/schema";
import { Failed, FormOutcome, Loading, PagerNav, Section, TextField, when } from "../components/ui";
import { usePager } from "../components/usePager";

type User = components["schemas"]["UserOut"];
type Role = components["schemas"]["UserCreateIn"]["role"];

const ROLES: { value: Role; label: string; can: string }[] = [
  { value: "owner", label: "Owner", can: "everything, including other owners" },
  { value: "admin", label: "Admin", can: "everything but owners: users, channel connections" },
  { value: "staff", label: "Staff", can: "catalog, stock, orders, prices, syncs" },
  { value: "viewer", label: "Viewer", can: "read only" },
];

function useInvalidateUsers() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: ["users"] });
}

function NewUser() {
  const invalidate = useInvalidateUsers();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("staff");
  const [saved, setSaved] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: components["schemas"]["UserCreateIn"]) =>
      request("Adding the user failed", () => api.POST("/api/v1/users", { body })),
    onSuccess: async (user) => {
      setSaved(`Added ${user.email} as ${user.role}.`);
      setEmail("");
      setPassword("");
      await invalidate();
    },
  });
  const errors = fieldErrors(create.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(null);
    create.mutate({ email: email.trim(), password, role });
  };
  return (
    <Section id="new-user-title" title="Add a user">
      <form className="form" onSubmit={submit} noValidate>
        <TextField id="new-user-email" label="Email" type="email" value={email} onChange={setEmail} error={errors.email} required />
        <TextField
          id="new-user-password"
          label="Password (at least 8 characters)"
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.password}
          required
        />
        <div className="field">
          <label htmlFor="new-user-role">Role</label>
          <select
            id="new-user-role"
            value={role}
            aria-describedby="new-user-role-can"
            onChange={(e) => setRole(e.target.value as Role)}
          >
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
          <small id="new-user-role-can" className="muted">
            May do: {ROLES.find((r) => r.value === role)?.can}
          </small>
        </div>
        <div className="actions">
          <button type="submit" disabled={create.isPending || !email.trim() || password.length === 0}>
            {create.isPending ? "Adding…" : "Add user"}
          </button>
        </div>
        <FormOutcome error={create.error} fields={errors} shownFields={["email", "password"]} saved={saved} />
      </form>
    </Section>
  );
}

function UserRow({ user, isMe }: { user: User; isMe: boolean }) {
  const invalidate = useInvalidateUsers();
  const [role, setRole] = useState<Role>(user.role as Role);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const ifMatch = `"${user.version}"`;
  const change = useMutation({
    mutationFn: (next: Role) =>
      request(`Changing ${user.email}'s role failed`, () =>
        api.PATCH("/api/v1/users/{user_id}", {
          params: { path: { user_id: user.id }, header: { "If-Match": ifMatch } },
          body: { role: next, email: null, password: null },
        }),
      ),
    onSuccess: invalidate,
    onError: () => setRole(user.role as Role),
  });
  const remove = useMutation({
    mutationFn: () =>
      request(`Removing ${user.email} failed`, () =>
        api.DELETE("/api/v1/users/{user_id}", {
          params: { path: { user_id: user.id }, header: { "If-Match": ifMatch } },
        }),
      ),
    onSuccess: invalidate,
  });
  const error = change.error ?? remove.error;
  const selectId = `role-${user.id}`;
  return (
    <tr>
      <th scope="row">
        {user.email}
        {isMe && <span className="muted"> (you)</span>}
      </th>
      <td>
        <label htmlFor={selectId} className="visually-hidden">
          Role of {user.email}
        </label>
        <select
          id={selectId}
          value={role}
          disabled={change.isPending}
          onChange={(e) => {
            const next = e.target.value as Role;
            setRole(next);
            change.mutate(next);
          }}
        >
          {ROLES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
        {error && (
          <small className="error-text" role="alert">
            {" "}
            {error.message}
          </small>
        )}
      </td>
      <td>{when(user.created_at)}</td>
      <td>
        {isMe ? null : confirmRemove ? (
          <span className="actions">
            <button type="button" className="danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
              Remove {user.email}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmRemove(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="secondary" onClick={() => setConfirmRemove(true)}>
            Remove…
          </button>
        )}
      </td>
    </tr>
  );
}

function UserList() {
  const pager = usePager();
  const me = useMe();
  const users = useQuery({
    queryKey: ["users", pager.cursor],
    queryFn: () =>
      request("Loading the users failed", () =>
        api.GET("/api/v1/users", { params: { query: { limit: 50, cursor: pager.cursor } } }),
      ),
    placeholderData: (previous) => previous,
  });
  return (
    <Section id="users-title" title="Users">
      {users.isPending ? (
        <Loading what="users" />
      ) : users.error ? (
        <Failed error={users.error} retry={() => void users.refetch()} />
      ) : (
        <>
          <div className="table-wrap" aria-busy={users.isFetching}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Added</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.data.items.map((user) => (
                  // Keyed by version: a saved change resets the row's local state to the server's.
                  <UserRow key={`${user.id}:${user.version}`} user={user} isMe={user.id === me.data?.user.id} />
                ))}
              </tbody>
            </table>
          </div>
          <PagerNav pager={pager} nextCursor={users.data.next_cursor} label="User pages" />
        </>
      )}
    </Section>
  );
}

export function UsersPage() {
  const canManage = useCan("users:manage");
  const me = useMe();
  return (
    <>
      <h1>Users and roles</h1>
      {me.isPending ? (
        <Loading what="your account" />
      ) : !canManage ? (
        <p>
          Your role ({me.data?.user.role ?? "unknown"}) cannot manage users. Ask an owner or an admin of{" "}
          {me.data?.tenant.name ?? "your company"}.
        </p>
      ) : (
        <div className="columns">
          <UserList />
          <NewUser />
        </div>
      )}
      <Section id="roles-title" title="What each role may do">
        <dl className="facts">
          {ROLES.map((r) => (
            <div key={r.value}>
              <dt>{r.label}</dt>
              <dd>{r.can}</dd>
            </div>
          ))}
        </dl>
      </Section>
    </>
  );
}
