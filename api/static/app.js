/* kb web page: plain JS over the JSON API. Every piece of corpus text goes into the DOM as a text node
   (textContent / createTextNode), never through innerHTML. */
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const state = {
    mode: "search",
    episodes: new Map(),   // id -> episode from /episodes
    themes: null,          // null: the API has no /themes; else Map slug -> label
    seq: 0,                // guards against out-of-order responses
    controller: null,
    lastQuery: "",
  };
  const ui = {
    form: $("#form"), q: $("#q"), go: $("#go"), status: $("#status"), answer: $("#answer"),
    results: $("#results"), speaker: $("#f-speaker"), episode: $("#f-episode"), theme: $("#f-theme"),
    themeFilter: $("#theme-filter"), kind: $("#f-kind"), clear: $("#clear"), panel: $("#panel"),
    panelTitle: $("#panel-title"), panelBody: $("#panel-body"), panelBack: $("#panel-back"),
  };

  /* ---------- DOM helpers ---------- */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const clear = (node) => { while (node.firstChild) node.firstChild.remove(); };

  /* ---------- query terms and highlighting ---------- */
  const STOP = new Set(("a an and are as at be been but by can could did do does for from had has have how i if in " +
    "into is it its me my of on or our should so than that the their them then there these they this to was we " +
    "were what when where which who whom why will with would you your about").split(" "));

  function terms(query) {
    const words = (query.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) || [])
      .filter((w) => w.length > 1 && !STOP.has(w))
      .map((w) => (w.length > 5 ? w.replace(/(ing|ed|es|s)$/u, "") : w));
    return [...new Set(words)].sort((a, b) => b.length - a.length);
  }
  const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  function highlight(text, ts) {
    const frag = document.createDocumentFragment();
    if (!ts.length) { frag.append(document.createTextNode(text)); return frag; }
    const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${ts.map(escapeRe).join("|")})[\\p{L}\\p{N}]*`, "giu");
    let last = 0;
    for (const m of text.matchAll(re)) {
      frag.append(document.createTextNode(text.slice(last, m.index)), el("mark", {}, m[0]));
      last = m.index + m[0].length;
    }
    frag.append(document.createTextNode(text.slice(last)));
    return frag;
  }

  /* ---------- time and links ---------- */
  function seconds(value) {
    if (typeof value === "number" && isFinite(value)) return value;
    if (typeof value !== "string") return null;
    const m = value.trim().match(/^(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:\.\d+)?$/);
    if (!m) return /^\d+(\.\d+)?$/.test(value.trim()) ? parseFloat(value) : null;
    return (+(m[1] || 0)) * 3600 + (+m[2]) * 60 + (+m[3]);
  }
  function clock(secs) {
    if (secs === null || secs === undefined) return null;
    const s = Math.floor(secs);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  }
  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    try {
      const u = new URL(url, location.href);
      return /^https?:$/.test(u.protocol) ? u : null;  // never javascript: or data: links from the corpus
    } catch { return null; }
  }
  /** The episode URL at a second: `?t=123` for YouTube-style hosts, a media fragment `#t=123` otherwise. */
  function timeUrl(url, secs) {
    const u = safeUrl(url);
    if (!u) return null;
    if (secs === null || secs === undefined) return u.href;
    const t = Math.max(0, Math.floor(secs));
    if (/(^|\.)(youtube\.com|youtu\.be)$/i.test(u.hostname)) u.searchParams.set("t", String(t));
    else u.hash = `t=${t}`;
    return u.href;
  }
  function timeNode(episodeId, label, secs) {
    if (!label) return null;
    const ep = state.episodes.get(episodeId);
    const href = ep && ep.meta ? timeUrl(ep.meta.url, secs ?? seconds(label)) : null;
    if (href) {
      return el("a", { class: "time", href, target: "_blank", rel: "noopener noreferrer",
        "aria-label": `Play at ${label} (opens the episode)` }, label);
    }
    return el("span", { class: "time" }, label);
  }

  /** `Bruce` -> `Bruce Wang` when the episode lists the full name. */
  function fullName(episodeId, speaker) {
    if (!speaker) return null;
    const ep = state.episodes.get(episodeId);
    const found = ep && (ep.speakers || []).find((s) => s === speaker || s.startsWith(speaker + " "));
    return found || speaker;
  }

  /* ---------- API ---------- */
  async function api(path, options = {}) {
    const response = await fetch(path, { headers: { Accept: "application/json" }, ...options });
    if (!response.ok) {
      let detail = "";
      try { const body = await response.json(); detail = typeof body.detail === "string" ? body.detail : ""; } catch { /* no body */ }
      const error = new Error(detail || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  /** POST /ask/stream and hand each server-sent event (name, JSON data) to `onEvent` as it arrives. */
  async function askStream(body, signal, onEvent) {
    const response = await fetch("/ask/stream", { method: "POST", signal,
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" }, body: JSON.stringify(body) });
    if (!response.ok) {
      let detail = "";
      try { const b = await response.json(); detail = typeof b.detail === "string" ? b.detail : ""; } catch { /* none */ }
      throw new Error(detail || `HTTP ${response.status}`);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) onEvent(event, JSON.parse(data.join("\n")));
      }
    }
  }

  function filters() {
    const f = {};
    if (ui.speaker.value) f.speaker = ui.speaker.value;
    if (ui.episode.value) f.episode = ui.episode.value;
    if (ui.kind.value) f.kind = ui.kind.value;
    if (state.themes && ui.theme.value) f.theme = ui.theme.value;
    return f;
  }

  /* ---------- rendering ---------- */
  function themeChips(themes) {
    if (!themes || !themes.length) return null;
    return el("ul", { class: "chips", "aria-label": "Themes" },
      themes.map((t) => {
        const label = themeLabel(t);
        return el("li", {}, state.themes
          ? el("button", { type: "button", class: "chip", title: `Only passages about ${label}`,
              "aria-label": `Theme ${label}: show only passages about it`,
              onclick: () => { setSelect(ui.theme, t, label); run(); } }, label)
          : el("span", { class: "chip" }, label));
      }));
  }

  function themeLabel(t) {
    if (typeof t !== "string") t = t && (t.label || t.name) || "";
    return (state.themes && state.themes.get(t)) || t;
  }

  function episodeButton(ref) {
    return el("button", { type: "button", class: "episode-link", title: "Episode details",
      onclick: () => openEpisode(ref.id) }, ref.title);
  }

  /** One passage card; `n` numbers it as a citation. */
  function passageCard(p, ts, n) {
    const who = fullName(p.episode.id, p.speaker);
    const section = p.section && p.section !== p.episode.title ? p.section : null;
    const label = who || section;
    const meta = el("div", { class: "meta" },
      n ? el("span", { class: "num", "aria-label": `Citation ${n}` }, String(n)) : null,
      label ? el("span", { class: who ? "speaker" : "section" }, label) : null,
      episodeButton(p.episode),
      who && section ? el("span", { class: "chapter", title: "Chapter" }, section) : null,
      timeNode(p.episode.id, p.start, p.start_seconds),
      p.kind ? el("span", { class: `badge kind-${p.kind}` }, p.kind) : null);
    const card = el("article", { class: "card", "data-chunk": p.chunk_id, id: n ? `cite-${n}` : null },
      meta,
      el("p", { class: "text" }, highlight(p.text, ts)),
      el("div", { class: "card-foot" },
        themeChips(p.themes),
        el("button", { type: "button", class: "link context-btn", onclick: () => openContext(p.chunk_id, ts),
          "aria-label": `Show in context: ${label || "passage"} in ${p.episode.title}` }, "Show in context")));
    return card;
  }

  function setStatus(text) { ui.status.textContent = text; }

  function renderResults(hits, query) {
    clear(ui.results);
    const ts = terms(query);
    if (!hits.length) {
      ui.results.append(el("p", { class: "empty" }, "No passages match. Try other words or fewer filters."));
      return;
    }
    ui.results.append(el("ol", { class: "list" }, hits.map((h) => el("li", {}, passageCard(h, ts)))));
  }

  function citeButton(c, ts) {
    return el("button", { type: "button", class: "cite", "data-n": c.n,
      "aria-label": `Citation ${c.n}: ${c.who}, ${c.episode.title}, show in context`,
      onclick: () => openContext(c.chunk_id, ts) }, String(c.n));
  }

  /** One key point: the excerpt as a quote, then who said it, in which episode, when. */
  function pointCard(p, ts) {
    const c = p.citation;  // `who` ("Maria Bracho") and `about` ("guest, CTO for LATAM at Red Hat") come from /ask
    return el("li", { class: "point" },
      el("blockquote", { class: "point-text" }, highlight(p.text, ts)),
      el("div", { class: "meta point-meta" }, citeButton(c, ts),
        el("span", { class: c.speaker ? "speaker" : "section" }, c.who),
        c.about ? el("span", { class: "about" }, c.about) : null,
        episodeButton(c.episode),
        timeNode(c.episode.id, c.at || c.start, seconds(c.at || c.start))));
  }

  /** Generated text, "sentence [1] sentence [2]", with each marker a citation button. */
  function citedText(text, byN, ts) {
    const para = el("p", { class: "answer-text generated" });
    let last = 0;
    for (const m of text.matchAll(/\s*\[(\d+)\]/g)) {
      para.append(document.createTextNode(text.slice(last, m.index)));
      const c = byN.get(+m[1]);
      para.append(c ? citeButton(c, ts) : document.createTextNode(m[0]));
      last = m.index + m[0].length;
    }
    para.append(document.createTextNode(text.slice(last)));
    return para;
  }

  /** A generated sentence, shown above the points once it passed verification. */
  function appendSentence(verdict, ans) {
    const card = ui.answer.querySelector(".answer-card");
    if (!card || !ans) return;
    let para = card.querySelector(".generated");
    if (!para) {
      para = el("p", { class: "answer-text generated" });
      card.querySelector(".answer-label").after(para);
    }
    const byN = new Map(ans.citations.map((c) => [c.n, c]));
    if (para.childNodes.length) para.append(" ");
    para.append(...citedText(verdict.text, byN, terms(ans.question)).childNodes);
  }

  function renderAnswer(ans) {
    clear(ui.answer);
    clear(ui.results);
    ui.answer.hidden = false;
    const ts = terms(ans.question);
    if (ans.abstained) {
      const near = ans.near || [];
      ui.answer.append(el("div", { class: "answer-card abstained" },
        el("h2", { class: "answer-label" }, "No answer found"),
        el("p", { class: "answer-text" }, ans.answer || "The transcripts do not seem to cover this question."),
        ans.reason ? el("p", { class: "muted reason" }, `Why: ${ans.reason}.`) : null,
        // the closest passages' best excerpts, attributed: what the corpus holds near the question
        near.length ? el("p", { class: "muted" }, "Closest excerpts (they do not answer it):") : null,
        near.length ? el("ol", { class: "points near" }, near.map((p) => pointCard(p, ts))) : null,
        ans.closest && ans.closest.length ? el("p", { class: "muted" }, "These are the closest passages:") : null));
      if (ans.closest && ans.closest.length) {
        ui.results.append(el("ol", { class: "list" }, ans.closest.map((h) => el("li", {}, passageCard(h, ts)))));
      }
      return;
    }
    const byN = new Map(ans.citations.map((c) => [c.n, c]));
    const card = el("div", { class: "answer-card" }, el("h2", { class: "answer-label" }, "Answer"));
    if (ans.generated) card.append(citedText(ans.answer, byN, ts));
    if (ans.lead) card.append(el("p", { class: "lead" }, ans.lead));
    if (!ans.generated && ans.reason) card.append(el("p", { class: "muted reason" }, ans.reason));
    card.append(el("ol", { class: "points" }, (ans.points || []).map((p) => pointCard(p, ts))));
    ui.answer.append(card);
    if (ans.citations.length) {
      ui.results.append(el("h2", { class: "section-title" }, "Sources"),
        el("ol", { class: "list citations" }, ans.citations.map((c) =>
          el("li", {}, passageCard({ ...c, start_seconds: seconds(c.start) }, ts, c.n)))));
    }
  }

  function renderWelcome() {
    clear(ui.results);
    ui.answer.hidden = true;
    const eps = [...state.episodes.values()];
    if (!eps.length) return;
    const chunks = eps.reduce((sum, e) => sum + (e.chunks || 0), 0);
    ui.results.append(
      el("h2", { class: "section-title" }, `${eps.length} episodes · ${chunks} passages`),
      el("ul", { class: "episode-grid" }, eps.map((e) => el("li", {}, episodeTile(e)))));
  }

  function episodeTile(e) {
    return el("button", { type: "button", class: "tile", onclick: () => openEpisode(e.id) },
      el("span", { class: "tile-title" }, e.title),
      el("span", { class: "tile-meta" }, [e.kind, `${e.chunks} passages`,
        e.speakers && e.speakers.length ? e.speakers.join(", ") : null].filter(Boolean).join(" · ")));
  }

  /* ---------- panel: context, episodes ---------- */
  function openPanel(title, back = false) {
    ui.panelTitle.textContent = title;
    ui.panelBack.hidden = !back;
    clear(ui.panelBody);
    if (!ui.panel.open) ui.panel.showModal();
    return ui.panelBody;
  }

  async function openContext(chunkId, ts = [], around = 2) {
    const body = openPanel("Loading…");
    let data;
    try {
      data = await api(`/chunks/${encodeURIComponent(chunkId)}?context=${around}`);
    } catch (err) {
      ui.panelTitle.textContent = "Could not load the passage";
      body.append(el("p", { class: "error" }, err.message));
      return;
    }
    const c = data.chunk;
    ui.panelTitle.textContent = c.episode_title;
    body.append(el("p", { class: "panel-sub" },
      [c.kind, c.source, c.section && c.section !== c.episode_title ? c.section : null].filter(Boolean).join(" · ")));
    let current = null;
    const list = el("ol", { class: "turns", "aria-label": "Passage with the turns before and after" },
      data.context.map((t) => {
        const isCurrent = t.id === c.id;
        const who = fullName(t.episode_id, t.speaker) || (t.section && t.section !== t.episode_title ? t.section : null);
        const item = el("li", { class: isCurrent ? "turn current" : "turn", "aria-current": isCurrent ? "true" : null,
          tabindex: isCurrent ? "-1" : null },
          el("div", { class: "meta" },
            who ? el("span", { class: t.speaker ? "speaker" : "section" }, who) : null,
            timeNode(t.episode_id, clock(t.start), t.start),
            isCurrent ? el("span", { class: "badge current-badge" }, "this passage") : null),
          el("p", { class: "text" }, isCurrent ? highlight(t.text, ts) : document.createTextNode(t.text)));
        if (isCurrent) current = item;
        return item;
      }));
    body.append(list);
    const actions = el("div", { class: "panel-actions" });
    if (around < 20) {
      actions.append(el("button", { type: "button", class: "ghost",
        onclick: () => openContext(chunkId, ts, Math.min(20, around + 4)) }, "More context"));
    }
    actions.append(el("button", { type: "button", class: "ghost", onclick: () => openEpisode(c.episode_id) },
      "Episode details"));
    body.append(actions);
    if (current) { current.focus({ preventScroll: true }); current.scrollIntoView({ block: "center" }); }
  }

  function chapterList(ep) {
    const raw = ep.meta && Array.isArray(ep.meta.chapters) ? ep.meta.chapters : [];
    const chapters = raw.map((ch) => {
      if (typeof ch === "string") {
        const m = ch.match(/^\s*\[?((?:\d{1,2}:)?\d{1,2}:\d{2})\]?\s*[-–—:]?\s*(.*)$/);
        return m ? { title: m[2] || m[1], secs: seconds(m[1]) } : { title: ch, secs: null };
      }
      if (ch && typeof ch === "object") {
        const title = ch.title || ch.chapter_title || ch.name || ch.label || "";
        const secs = seconds(ch.start ?? ch.start_time ?? ch.start_seconds ?? ch.time ?? ch.t ?? null);
        return { title: String(title), secs };
      }
      return null;
    }).filter((ch) => ch && (ch.title || ch.secs !== null));
    if (!chapters.length) return null;
    return el("ol", { class: "chapters" }, chapters.map((ch) => el("li", {},
      ch.secs !== null ? timeNode(ep.id, clock(ch.secs), ch.secs) : null,
      el("span", { class: "chapter-title" }, ch.title))));
  }

  function openEpisode(id) {
    const ep = state.episodes.get(id);
    if (!ep) return;
    const body = openPanel(ep.title, true);
    const link = safeUrl(ep.meta && ep.meta.url);
    body.append(el("p", { class: "panel-sub" }, [ep.kind, ep.source, `${ep.chunks} passages`].join(" · ")));
    if (link) {
      body.append(el("p", {}, el("a", { href: link.href, target: "_blank", rel: "noopener noreferrer", class: "ext" },
        "Open the episode")));
    }
    if (ep.speakers && ep.speakers.length) {
      body.append(el("h3", {}, "Speakers"), el("ul", { class: "chips" }, ep.speakers.map((s) => el("li", {},
        el("button", { type: "button", class: "chip", title: `Only passages by ${s}`,
          onclick: () => { setSelect(ui.speaker, s); setSelect(ui.episode, ep.id); ui.panel.close(); focusQuery(); run(); } }, s)))));
    }
    const chapters = chapterList(ep);
    if (chapters) body.append(el("h3", {}, "Chapters"), chapters);
    body.append(el("div", { class: "panel-actions" }, el("button", { type: "button", class: "primary",
      onclick: () => { setSelect(ui.episode, ep.id); ui.panel.close(); focusQuery(); run(); } }, "Search this episode")));
    ui.panelTitle.focus();
  }

  function openEpisodeList() {
    const body = openPanel("Episodes");
    body.append(el("ul", { class: "episode-grid in-panel" },
      [...state.episodes.values()].map((e) => el("li", {}, episodeTile(e)))));
    const first = body.querySelector("button");
    if (first) first.focus();
  }

  /* ---------- searching and asking ---------- */
  function setSelect(select, value, label = value) {
    if (![...select.options].some((o) => o.value === value)) select.append(el("option", { value }, label));
    select.value = value;
    updateClear();
  }
  function updateClear() {
    ui.clear.hidden = !(ui.speaker.value || ui.episode.value || ui.kind.value || ui.theme.value);
  }
  function focusQuery() { ui.q.focus(); ui.q.select(); }

  function syncUrl(query) {
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    if (state.mode === "ask") params.set("mode", "ask");
    for (const [k, v] of Object.entries(filters())) params.set(k, v);
    const qs = params.toString();
    history.replaceState(null, "", qs ? `?${qs}` : location.pathname);
  }

  async function run() {
    const query = ui.q.value.trim();
    syncUrl(query);
    if (state.controller) state.controller.abort();
    const seq = ++state.seq;
    if (!query) { setStatus(""); renderWelcome(); return; }
    state.controller = new AbortController();
    const signal = state.controller.signal;
    ui.results.setAttribute("aria-busy", "true");
    try {
      if (state.mode === "search") {
        setStatus("Searching…");
        const params = new URLSearchParams({ q: query, k: "20", ...filters() });
        const data = await api(`/search?${params}`, { signal });
        if (seq !== state.seq) return;
        ui.answer.hidden = true;
        renderResults(data.results, query);
        const n = data.results.length;
        setStatus(n ? `${n} passage${n === 1 ? "" : "s"} for “${query}”` : `No passages for “${query}”`);
      } else {
        setStatus("Looking for an answer…");
        let extractive = null;
        await askStream({ question: query, k: 5, ...filters() }, signal, (event, data) => {
          if (seq !== state.seq) return;
          if (event === "extractive") {
            extractive = data;
            renderAnswer(data);
          } else if (event === "sentence") {  // a generated sentence that passed verification
            if (!ui.answer.querySelector(".generated")) setStatus("Writing an answer from these passages…");
            appendSentence(data, extractive);
          } else if (event === "answer") {
            renderAnswer(data);
            setStatus(data.abstained ? "No confident answer; showing the closest passages."
              : `Answer from ${data.citations.length} source${data.citations.length === 1 ? "" : "s"}`);
          }
        });
      }
    } catch (err) {
      if (err.name === "AbortError" || seq !== state.seq) return;
      clear(ui.results);
      ui.answer.hidden = true;
      ui.results.append(el("p", { class: "error" }, `Something went wrong: ${err.message}`));
      setStatus("Request failed");
    } finally {
      if (seq === state.seq) ui.results.removeAttribute("aria-busy");
    }
  }

  let timer = null;
  function debounced() {
    clearTimeout(timer);
    if (state.mode !== "search") return;  // asking waits for Enter
    timer = setTimeout(run, 220);
  }

  function setMode(mode, rerun = true) {
    state.mode = mode;
    const ask = mode === "ask";
    ui.q.placeholder = ask ? "Ask a question, then press Enter…" : "Search passages…";
    ui.q.setAttribute("aria-label", ask ? "Ask a question" : "Search passages");
    ui.go.textContent = ask ? "Ask" : "Search";
    $("#hint").textContent = "";
    $("#hint").append(ask ? "Type a question and press " : "Results appear as you type. Press ",
      el("kbd", {}, ask ? "Enter" : "/"), ask ? ". Answers quote the transcripts, with sources." : " to focus, ",
      ask ? "" : el("kbd", {}, "Enter"), ask ? "" : " to submit.");
    for (const r of document.querySelectorAll('input[name="mode"]')) r.checked = r.value === mode;
    if (rerun && ui.q.value.trim()) run();
    else if (rerun) syncUrl("");
  }

  /* ---------- lists for the filters ---------- */
  async function loadLists() {
    try {
      const eps = await api("/episodes");
      state.episodes = new Map(eps.map((e) => [e.id, e]));
      const speakers = [...new Set(eps.flatMap((e) => e.speakers || []))].sort((a, b) => a.localeCompare(b));
      ui.speaker.append(...speakers.map((s) => el("option", { value: s }, s)));
      ui.episode.append(...eps.map((e) => el("option", { value: e.id }, e.title)));
    } catch (err) {
      setStatus(`Could not load episodes: ${err.message}`);
    }
    try {
      const data = await api("/themes");
      const list = Array.isArray(data) ? data : (data && (data.themes || data.results)) || [];
      const pairs = list.map((t) => (typeof t === "string" ? [t, t]
        : t && [t.name || t.slug || t.theme || t.label, t.label || t.name || t.theme]))
        .filter((pair) => pair && typeof pair[0] === "string" && pair[0]);
      state.themes = new Map(pairs.map(([name, label]) => [name, String(label || name)]));
      if (pairs.length) {
        ui.theme.append(...[...state.themes].map(([name, label]) => el("option", { value: name }, label)));
        ui.themeFilter.hidden = false;
      }
    } catch {
      state.themes = null;  // no themes in this API: the filter stays hidden
    }
  }

  /* ---------- wiring ---------- */
  ui.form.addEventListener("submit", (ev) => { ev.preventDefault(); clearTimeout(timer); run(); });
  ui.q.addEventListener("input", debounced);
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener("change", () => { if (r.checked) setMode(r.value); });
  }
  for (const s of [ui.speaker, ui.episode, ui.theme, ui.kind]) {
    s.addEventListener("change", () => { updateClear(); run(); });
  }
  ui.clear.addEventListener("click", () => {
    for (const s of [ui.speaker, ui.episode, ui.theme, ui.kind]) s.value = "";
    updateClear();
    focusQuery();
    run();
  });
  $("#episodes-btn").addEventListener("click", openEpisodeList);
  $("#panel-close").addEventListener("click", () => ui.panel.close());
  ui.panelBack.addEventListener("click", openEpisodeList);
  ui.panel.addEventListener("click", (ev) => { if (ev.target === ui.panel) ui.panel.close(); });  // backdrop
  ui.panelTitle.tabIndex = -1;
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey || ui.panel.open) return;
    const t = ev.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement ||
        (t instanceof HTMLElement && t.isContentEditable)) return;
    ev.preventDefault();
    focusQuery();
  });

  (async () => {
    await loadLists();
    const params = new URLSearchParams(location.search);
    if (params.get("speaker")) setSelect(ui.speaker, params.get("speaker"));
    if (params.get("episode")) setSelect(ui.episode, params.get("episode"));
    if (params.get("kind")) setSelect(ui.kind, params.get("kind"));
    if (params.get("theme") && state.themes) setSelect(ui.theme, params.get("theme"));
    ui.q.value = params.get("q") || "";
    setMode(params.get("mode") === "ask" ? "ask" : "search", false);
    document.body.dataset.ready = "true";
    if (ui.q.value) run(); else renderWelcome();
    ui.q.focus();
  })();
})();
