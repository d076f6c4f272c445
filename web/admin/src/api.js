// The REST API, same origin: the staff JWT travels only in the HttpOnly
// cookie the login set (never in storage a script could read).

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status; // 0: no answer (network, nginx down)
    this.body = body;
  }
}

let unauthorized = () => {};
// Called on any 401 after sign-in: the session ended (expired token,
// logout elsewhere, account disabled), so the app shows the sign-in page.
export function onUnauthorized(fn) {
  unauthorized = fn;
}

function fail(status, text, isLogin) {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (e) {
    body = null;
  }
  const message = (body && body.message) || `HTTP ${status}`;
  if (status === 401 && !isLogin) unauthorized();
  return new ApiError(status, message, body);
}

export async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, "network");
  }
  const text = await r.text();
  if (!r.ok) throw fail(r.status, text, path === "/api/auth/login");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(r.status, "bad JSON");
  }
}

export const get = (path) => api("GET", path);

export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

// An image upload with progress: fetch() cannot report upload progress,
// XMLHttpRequest's upload.onprogress can. onProgress gets 0..1.
export function uploadImage(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    form.append("file", file, file.name || "image");
    xhr.open("POST", "/api/admin/uploads");
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total, e);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch (e) {
          reject(new ApiError(xhr.status, "bad JSON"));
        }
      } else {
        reject(fail(xhr.status, xhr.responseText, false));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network"));
    xhr.send(form);
  });
}
