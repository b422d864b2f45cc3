"use strict";
// The dashboard's one script. Every value from the server goes into the page as text
// (textContent), never as markup. One event stream per page brings each changed view of the
// fleet; the jobs table and a job's page fetch their data again only when it changed.
(() => {
  const csrf = document.querySelector('meta[name="kueue-csrf"]').content;
  const view = document.getElementById("view");
  const statusLine = document.getElementById("status");
  const STATES = ["PENDING", "HELD", "WAITING", "OFFERED", "RUNNING", "SUCCEEDED", "FAILED",
    "CANCELED", "TIMED_OUT"];
  const ENDED = ["FINISHED", "CANCELED", "TIMED_OUT"];
  const listeners = new Set();
  let fleet = null;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "style") node.style.cssText = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "-";
    seconds = Math.round(seconds);
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m" + String(seconds % 60).padStart(2, "0") + "s";
    const hours = Math.floor(seconds / 3600);
    return hours + "h" + String(Math.floor((seconds % 3600) / 60)).padStart(2, "0") + "m";
  }

  /** "1 core", "1.5 cores", "3 GPUs": a unit is named in the plural, and one of it without. */
  function amount(value, unit) {
    if (unit === "MB") return value >= 1024 ? (value / 1024).toFixed(1) + " GB" : Math.round(value) + " MB";
    const rounded = Math.round(value * 10) / 10;
    return rounded + " " + (rounded === 1 ? unit.replace(/s$/, "") : unit);
  }

  /** "1 job", "3 jobs". */
  function count(n, singular) {
    return n + " " + (n === 1 ? singular : singular + "s");
  }

  /** A state or category as people read it: "timed out", not "TIMED_OUT". */
  function label(state) {
    return state.toLowerCase().replace("_", " ");
  }

  /** The field of the stats that counts a category: TIMED_OUT is counted in timedOut. */
  function statsKey(state) {
    return state.toLowerCase().replace(/_(.)/g, (match, letter) => letter.toUpperCase());
  }

  function category(job) {
    if (job.state !== "FINISHED") return job.state;
    return job.exitCode === 0 ? "SUCCEEDED" : "FAILED";
  }

  function fieldsEqual(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
    let body = null;
    try { body = await response.json(); } catch (e) { body = { error: response.statusText }; }
    if (!response.ok) throw new Error((body && body.error) || response.statusText);
    return body;
  }

  /**
   * An action: confirmed by the user, sent as a POST with the page's CSRF token. Hold, release and
   * requeue answer with the jobs they changed and why they left others as they were.
   */
  async function act(question, path, messageBox) {
    if (!window.confirm(question)) return;
    try {
      const reply = await api(path, { method: "POST", headers: { "X-Kueue-Csrf": csrf } });
      const skipped = reply && reply.skipped ? reply.skipped : [];
      if (reply && typeof reply.canceled === "number") {
        // A batch's cancel: its jobs on a worker stay unless killed, as with remove-job --batch.
        const left = reply.left ? count(reply.left, "job") + " still running (Kill all stops them)" : "";
        show(messageBox, reply.canceled === 0 ? "nothing canceled" + (left ? ": " + left : "") :
          "canceled " + count(reply.canceled, "job") + (left ? "; " + left : ""), reply.canceled === 0);
      } else if (skipped.length === 0) {
        show(messageBox, "done", false);
      } else {
        const updated = reply.updated ? reply.updated.length : 0;
        show(messageBox, (updated > 0 ? count(updated, "job") + " changed; " : "") + skipped.join("; "),
          updated === 0);
      }
    } catch (e) {
      show(messageBox, e.message, true);
    }
  }

  function show(box, text, error) {
    if (!box) return;
    box.replaceChildren(el("div", { class: error ? "message error" : "message", text }));
  }

  // ---- the event stream ----

  const events = new EventSource("/api/events");
  events.addEventListener("fleet", (event) => {
    fleet = JSON.parse(event.data);
    if (fleet.serverError) {
      statusLine.textContent = "server unreachable: " + fleet.serverError;
      statusLine.className = "status error";
    } else {
      statusLine.textContent = "live · " + new Date(fleet.time).toLocaleTimeString();
      statusLine.className = "status";
    }
    for (const listener of listeners) listener(fleet);
  });
  events.addEventListener("error", () => {
    statusLine.textContent = "reconnecting…";
    statusLine.className = "status error";
  });

  function onFleet(listener) {
    listeners.add(listener);
    if (fleet) listener(fleet);
  }

  // ---- fleet: counts, batches, workers, plots ----

  function fleetView() {
    const counts = el("div", { class: "counts", id: "counts" });
    const batches = el("div", { id: "batches" });
    const workers = el("div", { class: "cards", id: "workers" });
    const plots = el("div", { class: "plots", id: "plots" });
    const message = el("div");
    view.replaceChildren(
      el("h2", { text: "Queue" }), counts,
      el("h2", { text: "Batches" }), message, batches,
      el("h2", { text: "Workers" }),
      el("div", { class: "legend" }, el("span", { class: "kueue", text: "Kueue's jobs" }),
        el("span", { class: "others", text: "other use" }), el("span", { class: "free", text: "free" })),
      workers,
      el("h2", { text: "Throughput" }), plots);
    const charts = makeCharts(plots);
    onFleet((f) => {
      renderCounts(counts, f.stats);
      renderBatches(batches, f.batches || [], message);
      renderWorkers(workers, f.workers || []);
      updateCharts(charts, f.history);
    });
  }

  function renderCounts(box, stats) {
    if (!stats) return;
    const items = STATES.map((state) =>
      el("div", { class: "count", "data-state": state },
        el("a", { href: "/jobs?state=" + state },
          el("b", { text: stats[statsKey(state)] ?? 0 }), label(state))));
    items.push(el("div", { class: "count" }, el("b", { text: duration(stats.etaSeconds) }), "ETA"));
    box.replaceChildren(...items);
  }

  function segments(stats, total) {
    const parts = [
      ["succeeded", stats.succeeded], ["failed", stats.failed], ["timed-out", stats.timedOut],
      ["canceled", stats.canceled], ["running", stats.running],
      ["pending", stats.pending + stats.offered], ["waiting", stats.waiting], ["held", stats.held]];
    return parts.filter(([, n]) => n > 0).map(([name, n]) =>
      el("span", { class: name, title: n + " " + name.replace("-", " "), "data-count": n,
        style: "width:" + (100 * n / Math.max(1, total)) + "%" }));
  }

  function renderBatches(box, batches, message) {
    if (batches.length === 0) {
      box.replaceChildren(el("p", { class: "muted", text: "no batches" }));
      return;
    }
    box.replaceChildren(...batches.map((batch) => {
      const s = batch.stats;
      const timedOut = s.timedOut || 0, held = s.held || 0, waiting = s.waiting || 0;
      const done = s.succeeded + s.failed + s.canceled + timedOut;
      const active = s.pending + s.offered + s.running + held + waiting;
      // What remove-job --batch without --kill cancels: the jobs not on a worker.
      const notStarted = s.pending + held + waiting;
      const summary = done + "/" + batch.jobs + " done" + (s.failed ? " · " + s.failed + " failed" : "") +
        (timedOut ? " · " + timedOut + " timed out" : "") + (held ? " · " + held + " held" : "") +
        (active ? " · ETA " + duration(s.etaSeconds) : " · ended");
      const ask = (question, how) => act(question + " (batch " + batch.batch + ")",
        "/api/batches/" + batch.batch + "/" + how, message);
      return el("div", { class: "batch", "data-batch": batch.batch, "data-done": done, "data-jobs": batch.jobs },
        el("a", { class: "name", href: "/jobs?batch=" + batch.batch, title: batch.command,
          text: "batch " + batch.batch + ": " + batch.command }),
        el("div", { class: "bar" }, segments(s, batch.jobs)),
        el("span", { class: "muted", text: summary }),
        el("span", { class: "actions" },
          s.pending + waiting > 0 ? el("button", { class: "hold-batch", text: "Hold",
            onclick: () => ask("Hold the jobs that have not started?", "hold") }) : null,
          held > 0 ? el("button", { class: "release-batch", text: "Release",
            onclick: () => ask("Release the held jobs?", "release") }) : null,
          s.failed + timedOut > 0 ? el("button", { class: "requeue-batch", text: "Requeue failed",
            onclick: () => ask("Run the failed and timed-out jobs again?", "requeue-failed") }) : null,
          notStarted > 0 ? el("button", { class: "cancel-batch", text: "Cancel pending",
            onclick: () => ask("Cancel the jobs that have not started?", "cancel") }) : null,
          s.running + s.offered > 0 ? el("button", { class: "danger kill-batch", text: "Kill all",
            onclick: () => ask("Cancel the jobs that have not started and kill the running ones?",
              "kill") }) : null));
    }));
  }

  function renderWorkers(box, workers) {
    if (workers.length === 0) {
      box.replaceChildren(el("p", { class: "muted", text: "no workers connected" }));
      return;
    }
    box.replaceChildren(...workers.map((w) =>
      el("div", { class: w.connected ? "card worker" : "card worker lost", "data-worker": w.name },
        el("h3", {}, el("span", { text: w.name }),
          el("span", { class: "badge", text: w.connected ? "connected" : "lost" })),
        el("div", { class: "muted", text: w.hostname + " · " + (w.connected ?
          w.slotsUsed + "/" + count(w.slotsTotal, "slot") + " · load " + w.load1.toFixed(2) :
          count(w.slotsTotal, "slot") + " · last seen " + when(w.lastSeen)) }),
        w.bars.map((bar) => w.connected ? resourceRow(bar) : lostResourceRow(bar)),
        w.jobs.length === 0 ? el("div", { class: "muted", text: "no jobs" }) :
          el("ul", { class: "jobs-list" }, w.jobs.map((job) =>
            el("li", {}, el("a", { href: "/jobs/" + job.id, text: "#" + job.id }), " ",
              el("span", { class: "muted", text: job.state.toLowerCase() }), " ", job.command))))));
  }

  /**
   * Free is what the scheduler can still place (list-workers' free): it counts other programs'
   * CPU use in whole CPUs, while the bar and its tooltip show that use as measured. The text and
   * the tooltip say the same free amount.
   */
  function resourceRow(bar) {
    const free = amount(bar.free, bar.unit);
    const rounding = bar.resource === "CPU" ? " (placement counts it in whole CPUs)" : "";
    return el("div", { class: "bar-row", "data-resource": bar.resource },
      el("span", { text: bar.resource }),
      el("div", { class: "bar", title: "Kueue's jobs " + amount(bar.kueue, bar.unit) + " · other use " +
          amount(bar.others, bar.unit) + rounding + " · free for jobs " + free },
        el("span", { class: "kueue", style: "width:" + (100 * bar.kueue / Math.max(1, bar.total)) + "%" }),
        el("span", { class: "others", style: "width:" + (100 * bar.others / Math.max(1, bar.total)) + "%" })),
      el("span", { class: "muted free", text: free + " free of " + amount(bar.total, bar.unit) }));
  }

  /** A lost worker's resource: its size, and nothing offered as free. */
  function lostResourceRow(bar) {
    return el("div", { class: "bar-row", "data-resource": bar.resource },
      el("span", { text: bar.resource }),
      el("div", { class: "bar unavailable", title: "the worker is lost: nothing of it takes jobs" }),
      el("span", { class: "muted", text: amount(bar.total, bar.unit) + " · lost" }));
  }

  function makeCharts(box) {
    if (typeof uPlot === "undefined") return null;
    const width = Math.min(640, Math.max(300, (box.clientWidth || 900) / 2 - 30));
    // The last hours, even before they have data, rather than a range made of one point.
    const x = { time: true, range: (u, min, max) => [Math.min(min, max - 3600), max + 60] };
    const finished = new uPlot({
      title: "jobs finished per minute", width, height: 200, scales: { x },
      series: [{}, { label: "finished", stroke: "#2e9b4f", fill: "rgba(46,155,79,.15)" }],
    }, [[], []], el("div", { class: "plot", id: "plot-finished" }));
    const use = new uPlot({
      title: "fleet CPU use (reserved / total)", width, height: 200,
      scales: { x, y: { range: [0, 100] } },
      // Points too: minutes before the dashboard started are unknown, and a lone known minute
      // between gaps has no line to draw.
      series: [{}, { label: "use %", stroke: "#2f6fde", fill: "rgba(47,111,222,.15)",
        points: { show: true, size: 4 } }],
    }, [[], []], el("div", { class: "plot", id: "plot-use" }));
    box.replaceChildren(finished.root.parentNode, use.root.parentNode);
    return { finished, use };
  }

  function updateCharts(charts, history) {
    if (!charts || !history) return;
    charts.finished.setData([history.minutes, history.finished]);
    charts.use.setData([history.minutes,
      history.cpuUse.map((u) => u === null ? null : Math.round(u * 1000) / 10)]);
  }

  // ---- jobs table ----

  /**
   * Columns the store can order all jobs by: id and submission time (the same order) through the
   * primary key, state through the index of list categories. Exit code, run time and the others
   * have no index: ordering a million jobs by them would read them all for every page, and an
   * index would cost every job a write when it ends, so they sort only the page shown.
   */
  const SERVER_SORTS = ["id", "state", "submitted"];

  function jobsView() {
    const params = new URLSearchParams(location.search);
    const state = { filters: {
      state: params.get("state") || "", batch: params.get("batch") || "",
      worker: params.get("worker") || "", text: params.get("text") || "" },
      order: params.get("order") === "oldest" ? "oldest" : "newest",
      // Over all pages: by id (which is submission order) or by state then id, each through an
      // index of the store. Other columns sort the page shown.
      serverSort: ["state", "submitted"].includes(params.get("sort")) ? params.get("sort") : "id",
      cursors: [], after: null, rows: [], sortKey: null, sortUp: true, lastStats: null };
    const input = (name, label, size) => el("label", {}, label,
      el("input", { name, value: state.filters[name], size }));
    const stateSelect = el("select", { name: "state" }, el("option", { value: "", text: "all" }),
      STATES.map((s) => el("option", { value: s, text: label(s), selected: s === state.filters.state })));
    const form = el("form", { class: "filters", id: "filters" },
      el("label", {}, "state", stateSelect), input("batch", "batch", 8), input("worker", "worker", 12),
      input("text", "command, directory or note contains", 24), el("button", { type: "submit", text: "Apply" }));
    const table = el("table", { id: "jobs" });
    const pageInfo = el("span", { class: "muted" });
    const newer = el("button", { text: "‹ previous", id: "page-previous" });
    const older = el("button", { text: "next ›", id: "page-next" });
    const message = el("div");
    view.replaceChildren(el("h2", { text: "Jobs" }), form, message, table,
      el("div", { class: "pager" }, newer, older, pageInfo));

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      for (const name of ["state", "batch", "worker", "text"]) state.filters[name] = form.elements[name].value.trim();
      state.cursors = []; state.after = null;
      remember(); load();
    });
    newer.addEventListener("click", () => { state.after = state.cursors.pop() ?? null; load(); });
    older.addEventListener("click", () => {
      if (state.rows.length === 0) return;
      state.cursors.push(state.after);
      const last = state.rows[state.rows.length - 1];
      state.after = { id: last.id, state: category(last) };
      load();
    });

    function remember() {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(state.filters)) if (v) query.set(k, v);
      if (state.order === "oldest") query.set("order", "oldest");
      if (state.serverSort !== "id") query.set("sort", state.serverSort);
      history.replaceState(null, "", "/jobs" + (query.toString() ? "?" + query : ""));
    }

    async function load() {
      const query = new URLSearchParams({ limit: "50", order: state.order });
      for (const [k, v] of Object.entries(state.filters)) if (v) query.set(k, v);
      if (state.serverSort === "state") query.set("sort", "state");
      if (state.after !== null) {
        query.set("after", state.after.id);
        if (state.serverSort === "state") query.set("afterState", state.after.state);
      }
      try {
        const started = performance.now();
        const list = await api("/api/jobs?" + query);
        state.rows = list.jobs;
        state.lastStats = list.stats;
        render();
        pageInfo.textContent = "page " + (state.cursors.length + 1) + " · " + list.jobs.length +
          " jobs · " + Math.round(performance.now() - started) + " ms";
        newer.disabled = state.cursors.length === 0 && state.after === null;
        older.disabled = list.jobs.length < 50;
        message.replaceChildren();
      } catch (e) {
        show(message, e.message, true);
      }
    }

    const columns = [
      ["id", "id"], ["state", "state"], ["command", "command"], ["worker", "worker"],
      ["batch", "batch"], ["submitted", "submitted"], ["started", "started"], ["ended", "ended"],
      ["exitCode", "exit"], ["note", "note"]];

    function render() {
      const rows = state.rows.slice();
      if (state.sortKey) {
        const key = state.sortKey;
        const value = (job) => key === "state" ? category(job) : job[key];
        rows.sort((a, b) => {
          const x = value(a), y = value(b);
          const order = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
          return state.sortUp ? order : -order;
        });
      }
      const head = el("tr", {}, columns.map(([key, label]) => {
        let mark = "";
        if (SERVER_SORTS.includes(key) && !state.sortKey && state.serverSort === key) {
          mark = state.order === "newest" ? " ▼" : " ▲";
        } else if (state.sortKey === key) mark = state.sortUp ? " ▲" : " ▼";
        return el("th", { "data-sort": key, text: label + mark,
          class: SERVER_SORTS.includes(key) ? "sorts-all" : null,
          title: SERVER_SORTS.includes(key) ? "sort over all pages" :
            "sort this page (no index of the store orders all jobs by it)",
          onclick: () => sortBy(key) });
      }));
      table.replaceChildren(el("thead", {}, head), el("tbody", {}, rows.map((job) => {
        const cat = category(job);
        return el("tr", { "data-job": job.id },
          el("td", {}, el("a", { href: "/jobs/" + job.id, text: job.id })),
          el("td", { class: "state state-" + cat, text: label(cat) }),
          el("td", { class: "command", title: job.command, text: job.command }),
          el("td", { text: job.worker || "" }),
          el("td", {}, job.batch ? el("a", { href: "/jobs?batch=" + job.batch, text: job.batch }) : ""),
          el("td", { text: when(job.submitted) }), el("td", { text: when(job.started) }),
          el("td", { text: when(job.ended) }),
          el("td", { text: job.exitCode ?? (job.signal ? "signal " + job.signal : "") }),
          el("td", { class: "muted", text: job.note || "" }));
      })));
    }

    function sortBy(key) {
      if (SERVER_SORTS.includes(key)) {
        const same = !state.sortKey && state.serverSort === key;
        state.sortKey = null;
        state.order = !same ? (key === "state" ? "oldest" : "newest") :
          state.order === "newest" ? "oldest" : "newest";
        state.serverSort = key;
        state.cursors = []; state.after = null;
        remember(); load();
        return;
      }
      state.sortUp = state.sortKey === key ? !state.sortUp : true;
      state.sortKey = key;
      render();
    }

    let pending = null;
    onFleet((f) => {
      // Only when the counts moved, and at most every two seconds.
      if (!state.lastStats || fieldsEqual(f.stats, state.lastStats) || pending) return;
      pending = setTimeout(() => { pending = null; load(); }, 2000);
    });
    load();
  }

  // ---- one job ----

  function jobView(id) {
    const box = el("div", { id: "job" });
    const message = el("div");
    const output = outputPane(id);
    view.replaceChildren(el("h2", { text: "Job " + id }), message, box,
      el("h2", { text: "Output" }), output.root);
    let last = null;
    let pending = null;

    async function load() {
      try {
        const reply = await api("/api/jobs/" + id);
        if (!fieldsEqual(reply.job, last)) {
          last = reply.job;
          render(reply.job);
          output.know(reply.job);
        }
      } catch (e) {
        show(message, e.message, true);
      }
    }

    function render(job) {
      const s = job.summary, spec = job.spec || {};
      const cat = category(s);
      const fields = [
        ["state", el("span", { class: "state state-" + cat, id: "job-state", text: label(cat) })],
        ["why", s.note || ""], ["command", s.command], ["directory", s.cwd],
        ["batch", s.batch ? el("a", { href: "/jobs?batch=" + s.batch, text: s.batch + " (index " + s.arrayIndex + ")" }) : ""],
        ["resources", count(s.slots, "slot") + ", " + count(s.cpus, "CPU") + ", " + amount(s.ramMb, "MB")],
        ["global resources", Object.entries(spec.globalResources || {}).map(([k, v]) => k + "=" + v).join(", ")],
        ["environment", job.envVariables < 0 ? "not captured (--no-env)" : job.envVariables + " variables"],
        ["stdout to", spec.stdout || "(kept by Kueue)"], ["stderr to", spec.stderr || "(kept by Kueue)"],
        ["worker", s.worker || ""], ["attempt", s.attempt], ["submitted", when(s.submitted)],
        ["started", when(s.started)], ["ended", when(s.ended)],
        ["exit", s.exitCode ?? (s.signal ? "signal " + s.signal : "")]];
      const actions = el("div", { class: "actions" });
      const button = (css, name, text, question) => el("button", { class: css, id: name + "-job", text,
        onclick: () => act(question, "/api/jobs/" + id + "/" + name, message).then(load) });
      if (s.state === "PENDING" || s.state === "WAITING") {
        actions.append(button("", "hold", "Hold", "Hold job " + id + " (keep it from starting)?"));
      }
      if (s.state === "HELD") {
        actions.append(button("", "release", "Release", "Release job " + id + "?"));
      }
      if (ENDED.includes(s.state)) {
        actions.append(button("", "requeue", "Requeue", "Run job " + id + " again?"));
      }
      if (s.state === "PENDING" || s.state === "HELD" || s.state === "WAITING") {
        actions.append(button("danger", "cancel", "Cancel", "Cancel job " + id + "?"));
      }
      if (s.state === "OFFERED" || s.state === "RUNNING") {
        actions.append(el("button", { class: "danger", id: "kill-job", text: "Kill",
          onclick: () => act("Kill job " + id + " (its whole process tree)?", "/api/jobs/" + id + "/kill", message).then(load) }));
      }
      // Sections in the order things happened: a line of no attempt (a requeue, a release) that
      // comes after an attempt is shown after it, not among the lines before the first one.
      const sections = [];
      let previous = 0;
      for (const event of job.history) {
        const current = sections[sections.length - 1];
        if (current && current.attempt === event.attempt) {
          current.list.push(event);
        } else {
          sections.push({ attempt: event.attempt, after: previous, list: [event] });
        }
        if (event.attempt) previous = event.attempt;
      }
      const history = sections.map(({ attempt, after, list }) => el("div", { class: "attempt", "data-attempt": attempt },
        el("h3", { text: attempt ? "Attempt " + attempt : after ? "After attempt " + after : "Before any attempt" }),
        el("table", {}, el("tbody", {}, list.map((e) => el("tr", {},
          el("td", { text: when(e.time) }), el("td", { text: e.what }),
          el("td", { text: e.worker || "" }), el("td", { class: "muted", text: e.detail || "" })))))));
      box.replaceChildren(actions,
        el("dl", { class: "fields" }, fields.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)])),
        el("h2", { text: "History" }), el("div", { id: "history" }, history));
    }

    onFleet(() => {
      // An ended job does not change; a live one is read again when the fleet changed.
      if (last && ENDED.includes(last.summary.state) || pending) return;
      pending = setTimeout(() => { pending = null; load(); }, 1000);
    });
    load();
  }

  // ---- a job's output ----

  /** Characters the pane keeps: a job that prints for days must not fill the browser's memory. */
  const OUTPUT_KEPT_CHARS = 2000000;

  /** How near the end of the output a reader counts as at the end (about a line). */
  const FOLLOW_SLACK_PX = 24;

  /**
   * The output of one attempt of the job, live while it runs: the page keeps its place in each
   * stream and asks the dashboard for what is new after it (read_output, as `kueue log -f` does),
   * each read waiting at the server until there is something. stderr is marked by its colour.
   * Following the latest attempt goes on with the next one when the job runs again.
   */
  function outputPane(id) {
    const choices = el("div", { class: "actions output-attempts", id: "output-attempts" });
    const info = el("div", { class: "muted", id: "output-info" });
    const pre = el("pre", { class: "output", id: "output" });
    const root = el("div", {}, choices, info, pre);
    let job = null;
    let chosen = null; // the attempt the user picked; null: the latest, followed
    let reading = null; // the attempt being read, once known
    let next = { stdout: 0, stderr: 0 };
    let chars = 0;
    let generation = 0;
    let stopped = false; // the attempt read has ended and nothing follows it

    function know(detail) {
      job = detail;
      if (stopped && chosen === null && detail.summary.attempt > (reading || 0)) {
        start(); // requeued after it ended: the new attempt is followed
      }
      const attempts = new Set(detail.outputAttempts || []);
      if (detail.summary.attempt > 0) attempts.add(detail.summary.attempt);
      const list = [...attempts].sort((a, b) => a - b);
      const button = (attempt, text) => el("button", {
        class: (attempt === chosen ? "chosen" : "") + (attempt === null ? " latest" : ""),
        "data-attempt": attempt === null ? "latest" : attempt, text,
        onclick: () => { chosen = attempt; start(); know(job); } });
      choices.replaceChildren(...(list.length > 1 ?
        [...list.map((a) => button(a, "attempt " + a)), button(null, "latest, live")] : []));
    }

    function start() {
      generation++;
      stopped = false;
      reading = chosen;
      next = { stdout: 0, stderr: 0 };
      chars = 0;
      pre.replaceChildren();
      read(generation, false);
    }

    function append(text, stream) {
      pre.append(stream === "stderr" ? el("span", { class: "stderr", text }) : document.createTextNode(text));
      chars += text.length;
      while (chars > OUTPUT_KEPT_CHARS && pre.firstChild) {
        chars -= pre.firstChild.textContent.length;
        pre.firstChild.remove();
      }
      if (chars > 0 && pre.dataset.empty) delete pre.dataset.empty;
    }

    async function read(mine, follow) {
      while (mine === generation) {
        const query = new URLSearchParams({ stdout: next.stdout, stderr: next.stderr });
        if (reading !== null) query.set("attempt", reading);
        if (follow) query.set("follow", "1");
        let reply;
        try {
          reply = await api("/api/jobs/" + id + "/output?" + query);
        } catch (e) {
          if (mine !== generation) return;
          info.textContent = "output: " + e.message + "; trying again";
          await new Promise((resolve) => setTimeout(resolve, 2000));
          continue;
        }
        if (mine !== generation) return;
        const part = reply.parts[0];
        follow = true;
        if (!part) continue; // nothing new within the server's wait
        if (part.attempt > 0) reading = part.attempt;
        // As a terminal does: a reader at the end follows it, one who scrolled up stays there.
        const atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight <= FOLLOW_SLACK_PX;
        for (const piece of part.pieces) {
          const expected = next[piece.stream];
          if (piece.offset > expected) {
            append("[" + (piece.offset - expected) + " bytes of " + piece.stream + " no longer kept]\n", "note");
          }
          append(piece.text, piece.stream);
          next[piece.stream] = piece.offset + new TextEncoder().encode(piece.text).length;
        }
        if (atEnd) pre.scrollTop = pre.scrollHeight;
        next = { stdout: part.stdoutNext, stderr: part.stderrNext };
        const state = part.job ? part.job.state : null;
        info.textContent = part.attempt === 0 ? "waiting for the job to start" :
          "attempt " + part.attempt + (part.complete ? "" : " · live");
        if (part.complete) {
          if (chars === 0) pre.dataset.empty = "true";
          const ended = state === null || (ENDED.includes(state) && part.attempt >= part.job.attempt);
          if (ended || chosen !== null) {
            info.textContent = "attempt " + part.attempt + (chars === 0 ? " · no output kept" : "");
            stopped = true;
            return;
          }
          // The job runs again: its next attempt starts from its first byte.
          reading = Math.max(part.attempt, part.job.attempt - 1) + 1;
          next = { stdout: 0, stderr: 0 };
          chars = 0;
          pre.replaceChildren();
        }
      }
    }

    start();
    return { root, know };
  }

  // ---- routing ----

  const path = location.pathname;
  const job = path.match(/^\/jobs\/(\d+)$/);
  if (job) {
    document.getElementById("nav-jobs").classList.add("current");
    jobView(job[1]);
  } else if (path === "/jobs") {
    document.getElementById("nav-jobs").classList.add("current");
    jobsView();
  } else {
    document.getElementById("nav-fleet").classList.add("current");
    fleetView();
  }
})();
