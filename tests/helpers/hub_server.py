"""An offline fake of the Hugging Face Hub HTTP API, for tests that push or load datasets.

It speaks the part of the API that ``huggingface_hub`` uses to create a repo and commit files
to it (whoami, repo create/info, validate-yaml, preupload, LFS batch + PUT, ndjson commit), and
the part that ``datasets.load_dataset(repo_id)`` uses to read a dataset repo back (repo info by
revision, tree listing, paths-info, resolve with HEAD and Range). Repos live in memory:
``server.state.repos[(repo_type, repo_id)].files`` maps each path to its bytes, and
``server.state.log`` / ``server.state.unhandled`` record the requests.

The server binds to 127.0.0.1 on a free port and runs in a daemon thread; requests bigger than
``MAX_BODY`` bytes are refused and each connection times out after ``TIMEOUT`` seconds. Only
``token`` is accepted for writes and private repos; the user is always ``tester``.

``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` when they are imported, so run the
client code in a subprocess with :func:`client_env` (or set the variables before importing
them). Xet storage must be off (``HF_HUB_DISABLE_XET=1``): the fake speaks plain LFS.

Example:
    >>> import json, urllib.request
    >>> from helpers.hub_server import HubServer, client_env
    >>> no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    >>> with HubServer(token="hf_test") as hub:
    ...     req = urllib.request.Request(f"{hub.url}/api/whoami-v2",
    ...                                  headers={"Authorization": "Bearer hf_test"})
    ...     with no_proxy.open(req, timeout=10) as resp:
    ...         user = json.load(resp)["name"]
    ...     env = client_env(hub, token="hf_test")
    >>> user, env["HF_ENDPOINT"].startswith("http://127.0.0.1:"), env["HF_HUB_DISABLE_XET"]
    ('tester', True, '1')
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

MAX_BODY = 256 * 1024 * 1024
TIMEOUT = 30.0
USER = "tester"
_LFS_SUFFIXES = (".parquet", ".png", ".arrow", ".bin", ".safetensors")
_TYPES = {"datasets": "dataset", "models": "model", "spaces": "space"}


def _git_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class _Repo:
    def __init__(self, repo_type: str, repo_id: str, private: bool):
        self.repo_type, self.repo_id, self.private = repo_type, repo_id, private
        self.files: dict[str, dict] = {}  # path -> {"content": bytes, "lfs": bool}
        self.commits: list[str] = [hashlib.sha1(f"init {repo_id}".encode()).hexdigest()]
        self.created = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())

    @property
    def sha(self) -> str:
        return self.commits[-1]

    def entry(self, path: str) -> dict:
        f = self.files[path]
        content = f["content"]
        if f["lfs"]:
            pointer = (f"version https://git-lfs.github.com/spec/v1\noid sha256:"
                       f"{hashlib.sha256(content).hexdigest()}\nsize {len(content)}\n").encode()
            return {"type": "file", "path": path, "size": len(content), "oid": _git_oid(pointer),
                    "lfs": {"oid": hashlib.sha256(content).hexdigest(), "size": len(content),
                            "pointerSize": len(pointer)}}
        return {"type": "file", "path": path, "size": len(content), "oid": _git_oid(content)}

    def folders(self) -> set[str]:
        out = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]))
        return out

    def listing(self, prefix: str, recursive: bool) -> list[dict]:
        base = prefix.strip("/")
        entries = []
        for path in sorted(self.files):
            rel = path[len(base) + 1:] if base else path
            if base and not path.startswith(base + "/"):
                continue
            if recursive or "/" not in rel:
                entries.append(self.entry(path))
        for folder in sorted(self.folders()):
            rel = folder[len(base) + 1:] if base else folder
            if base and not folder.startswith(base + "/"):
                continue
            if recursive or "/" not in rel:
                entries.append({"type": "directory", "path": folder,
                                "oid": hashlib.sha1(folder.encode()).hexdigest()})
        return entries


class HubState:
    """Repos, LFS objects and a request log, shared by the handler threads."""

    def __init__(self, token: str):
        self.token = token
        self.lock = threading.Lock()
        self.repos: dict[tuple[str, str], _Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.log: list[str] = []
        self.unhandled: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT
    server: _Server

    # --- plumbing -------------------------------------------------------------------------
    def log_message(self, format, *args):  # noqa: A002 - silence stderr logging
        pass

    @property
    def state(self) -> HubState:
        return self.server.state

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, headers)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.state.token}"

    def _repo(self, kind: str, repo_id: str) -> _Repo | None:
        repo = self.state.repos.get((_TYPES.get(kind, kind), repo_id))
        if repo is None or (repo.private and not self._authorized()):
            self._error(404, "Repository not found", "RepoNotFound")
            return None
        return repo

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        self.state.log.append(f"{self.command} {path}")
        body = self._body() if self.command in ("POST", "PUT") else b""
        for method, pattern, handler in _ROUTES:
            if method == self.command or (method == "GET" and self.command == "HEAD"):
                m = re.fullmatch(pattern, path)
                if m:
                    with self.state.lock:
                        handler(self, m, query, body)
                    return
        self.state.unhandled.append(f"{self.command} {self.path}")
        self._error(404, f"no route for {self.command} {path}")

    do_GET = do_HEAD = do_POST = do_PUT = _dispatch

    # --- endpoints ------------------------------------------------------------------------
    def whoami(self, m, query, body):
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        self._json(200, {"type": "user", "name": USER, "fullname": USER, "orgs": [],
                         "auth": {"type": "access_token",
                                  "accessToken": {"displayName": "test", "role": "write"}}})

    def agent_harnesses(self, m, query, body):
        self._json(200, {"standardEnvVars": [], "harnesses": {}})

    def create_repo(self, m, query, body):
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        payload = json.loads(body)
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.server.url}/{prefix}{repo_id}"
        if (repo_type, repo_id) in self.state.repos:
            return self._json(409, {"error": "You already created this repo", "url": url})
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        self.state.repos[(repo_type, repo_id)] = _Repo(repo_type, repo_id, private)
        self._json(200, {"url": url, "name": repo_id})

    def repo_info(self, m, query, body):
        repo = self._repo(m["kind"], m["repo"])
        if repo is None:
            return
        rev = m["rev"]
        if rev and rev not in ("main", repo.sha):
            return self._error(404, "Revision not found", "RevisionNotFound")
        card = repo.files.get("README.md")
        card_data = None
        if card is not None:
            text = card["content"].decode()
            if text.startswith("---"):
                card_data = yaml.safe_load(text.split("---", 2)[1])
        self._json(200, {
            "_id": repo.sha[:24], "id": repo.repo_id, "author": repo.repo_id.split("/")[0],
            "sha": repo.sha, "private": repo.private, "gated": False, "disabled": False,
            "downloads": 0, "likes": 0, "tags": [], "createdAt": repo.created,
            "lastModified": repo.created, "cardData": card_data,
            "siblings": [{"rfilename": p} for p in sorted(repo.files)],
        })

    def validate_yaml(self, m, query, body):
        content = json.loads(body)["content"]
        errors = []
        if content.startswith("---"):
            try:
                meta = yaml.safe_load(content.split("---", 2)[1])
                if not isinstance(meta, dict):
                    errors.append({"message": "metadata must be a YAML mapping"})
            except yaml.YAMLError as err:
                errors.append({"message": f"invalid YAML: {err}"})
        if errors:
            return self._json(400, {"errors": errors, "warnings": []})
        self._json(200, {"errors": [], "warnings": []})

    def preupload(self, m, query, body):
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        repo = self._repo(m["kind"], m["repo"])
        if repo is None:
            return
        files = []
        for f in json.loads(body)["files"]:
            lfs = f["path"].endswith(_LFS_SUFFIXES) or f["size"] > 10 * 1024 * 1024
            oid = repo.entry(f["path"])["oid"] if f["path"] in repo.files else None
            files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                          "shouldIgnore": False, "oid": oid})
        self._json(200, {"files": files, "commitOid": repo.sha})

    def lfs_batch(self, m, query, body):
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        # model repos have no prefix: /<repo>.git/info/lfs/objects/batch
        if self._repo(m["kind"] or "models", m["repo"]) is None:
            return
        objects = []
        for obj in json.loads(body)["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.state.lfs:
                entry["actions"] = {"upload": {"href": f"{self.server.url}/__lfs/{obj['oid']}"}}
            objects.append(entry)
        self._json(200, {"transfer": "basic", "objects": objects})

    def lfs_put(self, m, query, body):
        oid = m["oid"]
        if hashlib.sha256(body).hexdigest() != oid:
            return self._error(400, "sha256 of the uploaded content does not match the oid")
        self.state.lfs[oid] = body
        self._send(200)

    def commit(self, m, query, body):
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        repo = self._repo(m["kind"], m["repo"])
        if repo is None:
            return
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        new_files = dict(repo.files)
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "file":
                new_files[value["path"]] = {"content": base64.b64decode(value["content"]),
                                            "lfs": False}
            elif key == "lfsFile":
                if value["oid"] not in self.state.lfs:
                    return self._error(422, f"LFS object {value['oid']} was not uploaded")
                new_files[value["path"]] = {"content": self.state.lfs[value["oid"]], "lfs": True}
            elif key == "deletedFile":
                if value["path"] not in new_files:
                    return self._error(404, "A file with this name doesn't exist", "EntryNotFound")
                del new_files[value["path"]]
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                new_files = {p: f for p, f in new_files.items() if not p.startswith(prefix)}
        repo.files = new_files
        repo.commits.append(hashlib.sha1(body + repo.sha.encode()).hexdigest())
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        commit_url = f"{self.server.url}/{prefix}{repo.repo_id}/commit/{repo.sha}"
        self._json(200, {"success": True, "commitOid": repo.sha, "commitUrl": commit_url})

    def tree(self, m, query, body):
        repo = self._repo(m["kind"], m["repo"])
        if repo is None:
            return
        prefix = m["path"] or ""
        if prefix and prefix.strip("/") not in repo.folders():
            return self._error(404, "Entry not found", "EntryNotFound")
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        self._json(200, repo.listing(prefix, recursive))

    def paths_info(self, m, query, body):
        repo = self._repo(m["kind"], m["repo"])
        if repo is None:
            return
        form = parse_qs(body.decode())
        out = []
        for p in form.get("paths", []):
            p = p.strip("/")
            if p in repo.files:
                out.append(repo.entry(p))
            elif p in repo.folders() or p == "":
                out.append({"type": "directory", "path": p,
                            "oid": hashlib.sha1(p.encode()).hexdigest()})
        self._json(200, out)

    def resolve(self, m, query, body):
        repo = self._repo(m["kind"], m["repo"])
        if repo is None:
            return
        if m["rev"] not in ("main", repo.sha):
            return self._error(404, "Revision not found", "RevisionNotFound")
        path = m["path"]
        if path not in repo.files:
            return self._error(404, "Entry not found", "EntryNotFound")
        entry = repo.entry(path)
        content = repo.files[path]["content"]
        etag = entry["lfs"]["oid"] if "lfs" in entry else entry["oid"]
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if "lfs" in entry:
            headers["X-Linked-Etag"] = f'"{etag}"'
            headers["X-Linked-Size"] = str(len(content))
        rng = self.headers.get("Range")
        if rng:
            start_s, _, end_s = rng.removeprefix("bytes=").partition("-")
            if start_s == "":
                start, end = max(0, len(content) - int(end_s)), len(content) - 1
            else:
                start = int(start_s)
                end = min(int(end_s), len(content) - 1) if end_s else len(content) - 1
            if start >= len(content):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(content)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            return self._send(206, content[start:end + 1], headers, "application/octet-stream")
        self._send(200, content, headers, "application/octet-stream")


_REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
_ROUTES = [
    ("GET", r"/api/whoami-v2", _Handler.whoami),
    ("GET", r"/api/agent-harnesses", _Handler.agent_harnesses),
    ("POST", r"/api/repos/create", _Handler.create_repo),
    ("POST", r"/api/validate-yaml", _Handler.validate_yaml),
    ("GET", rf"/api/(?P<kind>datasets|models|spaces)/{_REPO}(?:/revision/(?P<rev>[^/]+))?",
     _Handler.repo_info),
    ("POST", rf"/api/(?P<kind>datasets|models|spaces)/{_REPO}/preupload/(?P<rev>[^/]+)",
     _Handler.preupload),
    ("POST", rf"/(?:(?P<kind>datasets|spaces)/)?{_REPO}\.git/info/lfs/objects/batch",
     _Handler.lfs_batch),
    ("PUT", r"/__lfs/(?P<oid>[0-9a-f]{64})", _Handler.lfs_put),
    ("POST", rf"/api/(?P<kind>datasets|models|spaces)/{_REPO}/commit/(?P<rev>[^/]+)",
     _Handler.commit),
    ("GET", rf"/api/(?P<kind>datasets|models|spaces)/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?",
     _Handler.tree),
    ("POST", rf"/api/(?P<kind>datasets|models|spaces)/{_REPO}/paths-info/(?P<rev>[^/]+)",
     _Handler.paths_info),
    ("GET", rf"/(?P<kind>datasets|spaces)/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)",
     _Handler.resolve),
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: HubState
    url: str


class HubServer:
    """Run the fake Hub in a background thread (a context manager).

    Args:
        token: the only token the server accepts for writes and private repos.

    Attributes:
        url: ``http://127.0.0.1:<port>``, for ``HF_ENDPOINT``.
        state: repos, LFS objects, the request log and unhandled requests.
    """

    def __init__(self, token: str = "hf_test_token"):
        self.state = HubState(token)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._server.url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def online_env(base: dict | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: ``os.environ``) without any variable that switches a Hugging Face
    library offline (:data:`deita_hf.runtime.OFFLINE_VARIABLES`: ``HF_HUB_OFFLINE``,
    ``TRANSFORMERS_OFFLINE``, ``HF_DATASETS_OFFLINE``), plus ``extra``: the environment of a
    subprocess that talks to a (fake or unreachable) Hub endpoint.

    Example:
        >>> env = online_env({"TRANSFORMERS_OFFLINE": "1", "PATH": "/bin"}, HF_ENDPOINT="http://x")
        >>> sorted(env)
        ['HF_ENDPOINT', 'PATH']
    """
    from deita_hf.runtime import OFFLINE_VARIABLES

    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in OFFLINE_VARIABLES}
    env.update(extra)
    return env


def client_env(hub: HubServer, token: str | None = None, hf_home: str | os.PathLike | None = None,
               base: dict | None = None) -> dict[str, str]:
    """Environment variables for a subprocess that talks to ``hub``.

    Starts from :func:`online_env` of ``base`` (default: ``os.environ``; every offline variable
    removed), points ``HF_ENDPOINT`` at the fake, turns Xet, telemetry and progress bars off,
    removes ``HF_TOKEN``, then sets ``HF_TOKEN`` to ``token`` (when given) and ``HF_HOME`` to
    ``hf_home`` (when given: use a temporary folder so no real cache or token is read).
    """
    env = online_env(base, HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1",
                     HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)
    return env
