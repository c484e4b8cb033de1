// Users: search by id or name, ban and unban, deactivate and reactivate, export and delete. Export and delete
// answer with a task id; its progress is read from GET /tasks/{id}, and the id alone is shown if that is missing.

import { useEffect, useState } from "preact/hooks";
import { WeirError } from "../weir/api";
import { Problem, Section, Table, useAction, useApi, useLoad, when, type ScreenProps } from "./common";

interface User {
  id: string;
  name: string | null;
  role: string;
  banned: boolean;
  online: boolean;
  created_at: string;
  deactivated_at: string | null;
}

export const EXPORT_USERS_PATH = "/export/users";
const TASK_POLL_MS = 1000;

interface Task {
  label: string;
  id: string;
}

export function Users(_: ScreenProps) {
  const api = useApi();
  const [search, setSearch] = useState("");
  const [tasks, setTasks] = useState<Task[]>([]);
  const [deleting, setDeleting] = useState("");
  const action = useAction();
  const words = search.trim();
  const filter = words ? { $or: [{ id: { $autocomplete: words } }, { name: { $autocomplete: words } }] } : {};
  const users = useLoad(
    () =>
      api.request<{ users: User[] }>("POST", "/users/query", {
        filter_conditions: filter,
        include_deactivated_users: true,
        limit: 50,
      }),
    [words],
  );

  async function act(path: string, body: object = {}): Promise<void> {
    if (await action.run(() => api.request("POST", path, body))) users.reload();
  }

  async function startTask(label: string, path: string, body: object): Promise<void> {
    const answer = await action.run(() => api.request<{ task_id: string }>("POST", path, body));
    if (answer) {
      setTasks((now) => [{ label, id: answer.task_id }, ...now]);
      users.reload();
    }
  }

  return (
    <>
      <Section title="Search">
        <input
          class="search"
          type="search"
          placeholder="user id or name"
          data-testid="user-search"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <Problem error={users.error || action.error} />
        <Table testId="users" columns={["id", "name", "role", "state", "created", ""]}>
          {users.data?.users.map((user) => {
            const path = `/users/${encodeURIComponent(user.id)}`;
            return (
              <tr data-testid="user-row" data-user-id={user.id}>
                <td>{user.id}</td>
                <td>{user.name ?? ""}</td>
                <td>{user.role}</td>
                <td data-testid="user-state">
                  {[user.online && "online", user.banned && "banned", user.deactivated_at && "deactivated"]
                    .filter(Boolean)
                    .join(", ") || "active"}
                </td>
                <td>{when(user.created_at)}</td>
                <td class="actions">
                  {user.banned ? (
                    <button onClick={() => void act(`/moderation/unban?target_user_id=${encodeURIComponent(user.id)}`)}>
                      Unban
                    </button>
                  ) : (
                    <button
                      data-testid="user-ban"
                      onClick={() => void act("/moderation/ban", { target_user_id: user.id })}
                    >
                      Ban
                    </button>
                  )}
                  {user.deactivated_at ? (
                    <button onClick={() => void act(`${path}/reactivate`)}>Reactivate</button>
                  ) : (
                    <button data-testid="user-deactivate" onClick={() => void act(`${path}/deactivate`)}>
                      Deactivate
                    </button>
                  )}
                  <button
                    data-testid="user-export"
                    onClick={() => void startTask(`export ${user.id}`, EXPORT_USERS_PATH, { user_ids: [user.id] })}
                  >
                    Export
                  </button>
                  {deleting === user.id ? (
                    <button
                      class="danger"
                      data-testid="user-delete-confirm"
                      onClick={() => {
                        setDeleting("");
                        void startTask(`delete ${user.id}`, "/users/delete", { user_ids: [user.id], user: "soft" });
                      }}
                    >
                      Really delete
                    </button>
                  ) : (
                    <button class="danger" data-testid="user-delete" onClick={() => setDeleting(user.id)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </Table>
      </Section>
      {tasks.length > 0 && (
        <Section title="Tasks">
          <ul class="tasks">
            {tasks.map((task) => (
              <TaskProgress key={task.id} task={task} onDone={users.reload} />
            ))}
          </ul>
        </Section>
      )}
    </>
  );
}

/** A task's id, and its status while GET /tasks/{id} answers (a server without that route: the id alone). */
function TaskProgress({ task, onDone }: { task: Task; onDone: () => void }) {
  const api = useApi();
  const [status, setStatus] = useState<Record<string, unknown> | null>(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const answer = await api.request<Record<string, unknown>>("GET", `/tasks/${encodeURIComponent(task.id)}`);
        if (!live) return;
        setStatus(answer);
        if (["completed", "failed"].includes(String(answer.status))) onDone();
        else timer = setTimeout(poll, TASK_POLL_MS);
      } catch (failure) {
        if (live && failure instanceof WeirError && failure.status === 404) setMissing(true);
        else if (live) timer = setTimeout(poll, TASK_POLL_MS);
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [task.id]);
  const result = status?.result as Record<string, unknown> | undefined;
  const url = typeof result?.url === "string" ? result.url : undefined;
  const error = (status?.error as { description?: string } | null)?.description;
  return (
    <li data-testid="task" data-task-id={task.id}>
      {task.label}: task <code data-testid="task-id">{task.id}</code>{" "}
      {status && (
        <span data-testid="task-status" data-status={String(status.status)}>
          {String(status.status)} {String(status.progress ?? "")}%
        </span>
      )}
      {error && <span class="error">{error}</span>}
      {missing && <small> (no task status on this server)</small>}
      {url && (
        <a href={url} target="_blank" rel="noreferrer" data-testid="task-result">
          result
        </a>
      )}
    </li>
  );
}
