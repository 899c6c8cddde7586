// The demo console's page: draws the channel and modals from the console's
// state as Slack draws Block Kit, and tells the console what the person
// does (commands, clicks, submissions, type-ahead). Plain JavaScript, no
// build step. Everything from Charlize is text: it is escaped before it
// becomes HTML, and only the mrkdwn markup below adds tags.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { me: localStorage.getItem("charlize-demo-user") || "", snap: null, modalKey: "", events: null, fetching: 0 };

// ---- talking to the console ----

// reach is fetch with words for the person when the demo's server is gone
// (the browser's own are "Failed to fetch").
async function reach(path, init) {
  try { return await fetch(path, init); } catch (e) {
    throw new Error("The demo's server did not answer. Is charlize still running in its terminal?");
  }
}

async function post(path, body) {
  const resp = await reach(path, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(Object.assign({ user: state.me }, body)),
  });
  let data = {};
  try { data = await resp.json(); } catch (e) { /* an empty answer */ }
  if (!resp.ok) throw new Error(data.error || ("The demo's server answered HTTP " + resp.status + "."));
  return data;
}

async function refresh() {
  const mine = ++state.fetching;
  const resp = await reach("/console/state?user=" + encodeURIComponent(state.me), { cache: "no-store" });
  if (!resp.ok || mine !== state.fetching) return;
  const snap = await resp.json();
  // A later refresh began while this one was read (the person switched
  // to someone else): this snapshot is stale, and would switch them back.
  if (mine !== state.fetching) return;
  state.snap = snap;
  state.me = snap.me.id;
  render();
}

function listen() {
  if (state.events) state.events.close();
  state.events = new EventSource("/console/events?user=" + encodeURIComponent(state.me));
  state.events.addEventListener("change", () => refresh().catch(console.error));
}

function announce(text) { $("#status").textContent = text; }

// showError puts what went wrong where everyone sees it, not only screen
// readers (role=alert reads it out too). The next thing the person sends
// clears it, as does its close button.
function showError(text) {
  $("#error-text").textContent = text;
  $("#error").hidden = false;
}

function clearError() { $("#error").hidden = true; }

// ---- mrkdwn ----

const EMOJI = {
  white_check_mark: "✅", x: "❌", warning: "⚠️", hourglass_flowing_sand: "⏳", hourglass: "⌛", lock: "🔒",
  rocket: "🚀", mag: "🔍", large_green_circle: "🟢", red_circle: "🔴", large_yellow_circle: "🟡", black_circle: "⚫",
  tada: "🎉", wave: "👋", no_entry: "⛔", white_circle: "⚪", grey_question: "❔", closed_lock_with_key: "🔐",
};

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// Slack escapes &, < and > in text; undo that before escaping for HTML.
function unescapeSlack(s) { return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"); }

function emojify(s) { return s.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m); }

function nameOf(id) {
  const snap = state.snap;
  if (!snap) return id;
  if (id === snap.bot.id) return "Charlize";
  const u = snap.users.find((x) => x.id === id);
  return u ? u.name : id;
}

function pad(n) { return String(n).padStart(2, "0"); }

// formatDate renders <!date^ts^format|fallback> in the viewer's time zone.
function formatDate(ts, format) {
  const d = new Date(ts * 1000);
  if (isNaN(d)) return null;
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const short = months[d.getMonth()] + " " + d.getDate() + ", " + d.getFullYear();
  const today = new Date(); const yesterday = new Date(Date.now() - 86400000);
  const same = (a, b) => a.toDateString() === b.toDateString();
  const pretty = same(d, today) ? "today" : same(d, yesterday) ? "yesterday" : short;
  const map = {
    "{date_num}": d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()),
    "{date}": short, "{date_short}": short, "{date_long}": d.toDateString(),
    "{date_pretty}": pretty, "{date_short_pretty}": pretty, "{date_long_pretty}": pretty,
    "{time}": pad(d.getHours()) + ":" + pad(d.getMinutes()),
    "{time_secs}": pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()),
  };
  return format.replace(/\{[a-z_]+\}/g, (t) => (t in map ? map[t] : t));
}

// special renders one <…> token of Slack markup as HTML.
function special(inner) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) return '<span class="mention">@' + escapeHTML(nameOf(target.slice(1))) + "</span>";
  if (target.startsWith("#")) return '<span class="mention">#' + escapeHTML(label || target.slice(1)) + "</span>";
  if (target.startsWith("!date^")) {
    const parts = target.split("^");
    const shown = formatDate(Number(parts[1]), parts[2] || "{date_short} {time}");
    return escapeHTML(shown || label || "");
  }
  if (target.startsWith("!")) return "<strong>@" + escapeHTML(target.slice(1).split("^")[0]) + "</strong>";
  const url = unescapeSlack(target);
  if (/^(https?:|mailto:)/i.test(url)) {
    return '<a href="' + escapeHTML(url) + '" target="_blank" rel="noopener noreferrer">' + escapeHTML(unescapeSlack(label || target)) + "</a>";
  }
  return escapeHTML(unescapeSlack(label || target));
}

function splitOnce(s, sep) {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
}

// mrkdwn turns Slack's mrkdwn into safe HTML: code first (nothing formats
// inside it), then <…> tokens, then *bold*, _italic_, ~strike~ and quotes.
function mrkdwn(text) {
  const held = [];
  const hold = (html) => "\u0000" + (held.push(html) - 1) + "\u0000";
  let s = String(text || "");
  s = s.replace(/```([\s\S]*?)```/g, (m, code) => hold("<pre>" + escapeHTML(unescapeSlack(code)) + "</pre>"));
  s = s.replace(/`([^`\n]+)`/g, (m, code) => hold("<code>" + escapeHTML(unescapeSlack(code)) + "</code>"));
  s = s.replace(/<([^<>\n]+)>/g, (m, inner) => hold(special(inner)));
  s = escapeHTML(unescapeSlack(s));
  s = emojify(s);
  s = s.replace(/(^|[\s(\u0000])\*([^*\n]+)\*(?=$|[\s.,;:!?)\u0000])/g, "$1<strong>$2</strong>");
  s = s.replace(/(^|[\s(\u0000])_([^_\n]+)_(?=$|[\s.,;:!?)\u0000])/g, "$1<em>$2</em>");
  s = s.replace(/(^|[\s(\u0000])~([^~\n]+)~(?=$|[\s.,;:!?)\u0000])/g, "$1<del>$2</del>");
  s = s.replace(/(^|\n)&gt; ?([^\n]*)/g, "$1<blockquote>$2</blockquote>");
  s = s.replace(/\n/g, "<br>");
  return s.replace(/\u0000(\d+)\u0000/g, (m, i) => held[Number(i)]);
}

function textHTML(obj) {
  if (!obj) return "";
  if (typeof obj === "string") return mrkdwn(obj);
  if (obj.type === "mrkdwn") return mrkdwn(obj.text);
  return escapeHTML(obj.emoji === false ? obj.text : emojify(obj.text || "")).replace(/\n/g, "<br>");
}

function plain(obj) { return obj ? (obj.type === "plain_text" ? emojify(obj.text || "") : obj.text || "") : ""; }

// ---- DOM helpers ----

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "html") node.innerHTML = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c.nodeType ? c : document.createTextNode(c));
  return node;
}

let uid = 0;
const nextID = (p) => p + "-" + (++uid);

// ---- confirm dialogs ----

function confirmWith(confirm) {
  const dlg = $("#confirm");
  $("#confirm-title").textContent = plain(confirm.title) || "Are you sure?";
  $("#confirm-text").innerHTML = textHTML(confirm.text);
  const okButton = $("#confirm-ok");
  okButton.textContent = plain(confirm.confirm) || "Yes";
  okButton.className = confirm.style === "danger" ? "danger-solid" : "primary";
  $("#confirm-deny").textContent = plain(confirm.deny) || "Cancel";
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.returnValue = "";
    dlg.showModal();
    $("#confirm-deny").focus();
  });
}

// ---- acting ----

// where says what an element belongs to: a message (ts) or a view (id).
async function act(where, element, blockID, extra) {
  if (element.confirm && !(await confirmWith(element.confirm))) return;
  const action = Object.assign({ type: element.type, action_id: element.action_id, block_id: blockID }, extra || {});
  if (element.type === "button") {
    action.text = element.text;
    action.value = element.value;
    if (element.style) action.style = element.style;
  }
  const body = { action };
  if (where.viewID) { body.view_id = where.viewID; body.state = collectState($("#modal-root")); }
  else body.message_ts = where.ts;
  clearError();
  announce("Sent to Charlize");
  const answer = await post("/console/action", body);
  if (answer.ok === false) showError(answer.error); // written for the person by the console
  if (element.url) window.open(element.url, "_blank", "noopener");
}

// ---- Block Kit ----

function renderBlocks(blocks, where) {
  const root = el("div", { class: "bk" });
  (blocks || []).forEach((b, i) => {
    const id = b.block_id || "b" + i;
    const node = renderBlock(b, id, where);
    if (node) root.append(node);
  });
  return root;
}

function renderBlock(b, blockID, where) {
  switch (b.type) {
    case "section": {
      const main = el("div", { class: "bk-section-main" });
      if (b.text) main.append(el("div", { class: "bk-text", html: textHTML(b.text) }));
      if (b.fields) main.append(el("div", { class: "bk-fields" }, b.fields.map((f) => el("div", { class: "bk-text", html: textHTML(f) }))));
      const node = el("div", { class: "bk-section", "data-block-id": blockID }, main);
      if (b.accessory) node.append(renderElement(b.accessory, blockID, where));
      return node;
    }
    case "header":
      return el("h3", { class: "bk-header", "data-block-id": blockID, html: textHTML(b.text) });
    case "divider":
      return el("hr", { class: "bk-divider" });
    case "context":
      return el("div", { class: "bk-context", "data-block-id": blockID }, (b.elements || []).map((e) =>
        e.type === "image" ? el("img", { src: e.image_url, alt: e.alt_text || "" }) : el("span", { html: textHTML(e) })));
    case "image":
      return el("figure", { class: "bk-image", "data-block-id": blockID },
        b.title ? el("figcaption", { class: "bk-image-title", html: textHTML(b.title) }) : null,
        el("img", { src: b.image_url || (b.slack_file && b.slack_file.url) || "", alt: b.alt_text || "" }));
    case "actions":
      return el("div", { class: "bk-actions", "data-block-id": blockID, role: "group" },
        (b.elements || []).map((e) => renderElement(e, blockID, where)));
    case "input":
      return renderInput(b, blockID, where);
    case "markdown":
      return el("div", { class: "bk-text", html: mrkdwn(b.text) });
    case "rich_text":
      return el("div", { class: "bk-text" }, richText(b));
    default:
      return el("div", { class: "bk-unsupported" }, "(" + b.type + " block: not drawn by this demo)");
  }
}

function richText(b) {
  const out = [];
  for (const part of b.elements || []) {
    for (const e of part.elements || []) {
      if (e.type === "text") out.push(e.text);
      else if (e.type === "link") out.push(e.text || e.url);
      else if (e.type === "user") out.push("@" + nameOf(e.user_id));
      else if (e.type === "emoji") out.push(EMOJI[e.name] || ":" + e.name + ":");
    }
    out.push("\n");
  }
  return out.join("");
}

function option(o) { return { text: o.text, value: o.value }; }

function renderElement(e, blockID, where) {
  switch (e.type) {
    case "button": {
      const cls = "bk-btn" + (e.style ? " " + e.style : "");
      const button = el("button", { type: "button", class: cls, "data-action-id": e.action_id, "aria-label": e.accessibility_label },
        plain(e.text));
      button.addEventListener("click", async () => {
        button.disabled = true;
        try { await act(where, e, blockID); } catch (err) { showError(err.message); } finally { button.disabled = false; }
      });
      return button;
    }
    case "overflow": {
      const menuID = nextID("menu");
      const wrap = el("span", { class: "bk-overflow" });
      const toggle = el("button", { type: "button", class: "bk-btn", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": menuID,
        "aria-label": "More actions", "data-action-id": e.action_id }, "⋯");
      const menu = el("ul", { class: "bk-menu", role: "menu", id: menuID, hidden: true });
      const close = () => { menu.hidden = true; toggle.setAttribute("aria-expanded", "false"); };
      for (const o of e.options || []) {
        const item = el("button", { type: "button", role: "menuitem" }, plain(o.text));
        item.addEventListener("click", async () => { close(); await act(where, e, blockID, { selected_option: option(o) }); });
        menu.append(el("li", { role: "none" }, item));
      }
      toggle.addEventListener("click", () => {
        menu.hidden = !menu.hidden;
        toggle.setAttribute("aria-expanded", String(!menu.hidden));
        if (!menu.hidden) menu.querySelector("button").focus();
      });
      menu.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { close(); toggle.focus(); } });
      wrap.append(toggle, menu);
      return wrap;
    }
    case "static_select":
      return staticSelect(e, blockID, where, false);
    case "external_select":
      return externalSelect(e, blockID, where, false);
    case "image":
      return el("img", { class: "bk-accessory-image", src: e.image_url, alt: e.alt_text || "", width: 64, height: 64 });
    default:
      return el("span", { class: "bk-unsupported" }, "(" + e.type + ")");
  }
}

function allOptions(e) {
  if (e.options) return e.options;
  return (e.option_groups || []).flatMap((g) => g.options || []);
}

function staticSelect(e, blockID, where, inInput, labelID) {
  const select = el("select", { class: "bk-select", "data-action-id": e.action_id, "data-type": e.type, "aria-labelledby": labelID,
    "aria-label": labelID ? null : plain(e.placeholder) || "Choose" });
  select.append(el("option", { value: "" }, plain(e.placeholder) || "Select an item"));
  const add = (parent, o) => {
    const opt = el("option", { value: o.value }, plain(o.text));
    if (e.initial_option && e.initial_option.value === o.value) opt.selected = true;
    parent.append(opt);
  };
  if (e.option_groups) {
    for (const g of e.option_groups) { const og = el("optgroup", { label: plain(g.label) }); (g.options || []).forEach((o) => add(og, o)); select.append(og); }
  } else (e.options || []).forEach((o) => add(select, o));
  if (!inInput) {
    select.addEventListener("change", async () => {
      const o = allOptions(e).find((x) => x.value === select.value);
      if (o) await act(where, e, blockID, { selected_option: option(o) });
    });
  }
  return select;
}

// externalSelect is a combobox whose options come from Charlize's
// options load URL as one types (block_suggestion).
function externalSelect(e, blockID, where, inInput, labelID) {
  const listID = nextID("list");
  const wrap = el("div", { class: "bk-combo", "data-action-id": e.action_id, "data-type": e.type });
  const input = el("input", { type: "text", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listID,
    "aria-labelledby": labelID, "aria-label": labelID ? null : plain(e.placeholder) || "Search", placeholder: plain(e.placeholder) || "Type to search",
    "data-action-id": e.action_id });
  const list = el("ul", { role: "listbox", id: listID, hidden: true });
  wrap.append(input, list);
  if (e.initial_option) { wrap.dataset.selected = JSON.stringify(option(e.initial_option)); input.value = plain(e.initial_option.text); }
  let timer = null; let asked = 0; let active = -1;
  const min = e.min_query_length === undefined ? 1 : e.min_query_length;
  const show = (options, failed) => {
    list.replaceChildren();
    active = -1;
    // As in Slack, a menu that could not load says so inside itself (and
    // here, why), where the person is looking, not in the page's line.
    if (failed) list.append(el("li", { class: "none failed", role: "option", "aria-disabled": "true" }, "Couldn't load options: " + failed));
    else if (!options.length) list.append(el("li", { class: "none", role: "option", "aria-disabled": "true" }, "No matches"));
    options.forEach((o, i) => {
      const li = el("li", { role: "option", id: listID + "-" + i, "aria-selected": "false" }, plain(o.text));
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(o); });
      list.append(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    list.options = options;
  };
  const hide = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); };
  const choose = async (o) => {
    wrap.dataset.selected = JSON.stringify(option(o));
    input.value = plain(o.text);
    hide();
    if (!inInput) await act(where, e, blockID, { selected_option: option(o) });
  };
  input.addEventListener("input", () => {
    delete wrap.dataset.selected;
    clearTimeout(timer);
    if (input.value.length < min) { hide(); return; }
    timer = setTimeout(async () => {
      const mine = ++asked;
      const body = { action_id: e.action_id, block_id: blockID, value: input.value };
      if (where.viewID) body.view_id = where.viewID; else body.message_ts = where.ts;
      clearError();
      let answer;
      try { answer = await post("/console/suggest", body); } catch (err) { answer = { error: err.message }; }
      if (mine !== asked) return;
      if (answer.error) { show([], answer.error); announce("Couldn't load options: " + answer.error); return; }
      const options = answer.options || (answer.option_groups || []).flatMap((g) => g.options || []);
      show(options);
    }, 250);
  });
  input.addEventListener("keydown", (ev) => {
    const items = list.options || [];
    if (list.hidden || !items.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      list.querySelectorAll("li").forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
      input.setAttribute("aria-activedescendant", listID + "-" + active);
    } else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); choose(items[active]); }
    else if (ev.key === "Escape") hide();
  });
  input.addEventListener("blur", () => setTimeout(hide, 150));
  return wrap;
}

function renderInput(b, blockID, where) {
  const e = b.element || {};
  const labelID = nextID("label");
  const fieldID = nextID("field");
  const errorID = nextID("err");
  const error = where.errors && where.errors[blockID];
  const node = el("div", { class: "bk-input", "data-block-id": blockID });
  node.append(el("label", { class: "bk-label", id: labelID, for: fieldID }, plain(b.label),
    b.optional ? el("span", { class: "optional" }, " (optional)") : null));
  let field;
  switch (e.type) {
    case "plain_text_input":
      field = e.multiline ? el("textarea", { rows: 4 }) : el("input", { type: "text" });
      if (e.initial_value) field.value = e.initial_value;
      if (e.placeholder) field.placeholder = plain(e.placeholder);
      if (e.max_length) field.maxLength = e.max_length;
      break;
    case "static_select":
      field = staticSelect(e, blockID, where, true, labelID);
      break;
    case "external_select":
      field = externalSelect(e, blockID, where, true, labelID);
      break;
    default:
      field = el("span", { class: "bk-unsupported" }, "(" + e.type + " input: not drawn by this demo)");
  }
  field.dataset.actionId = e.action_id;
  field.dataset.type = e.type;
  const focusable = field.matches("input, textarea, select") ? field : field.querySelector("input");
  if (focusable) {
    focusable.id = fieldID;
    if (e.focus_on_load) focusable.dataset.focus = "1";
    if (error) { focusable.setAttribute("aria-invalid", "true"); focusable.setAttribute("aria-describedby", errorID); }
  }
  node.append(field);
  if (b.hint) node.append(el("div", { class: "bk-hint", html: textHTML(b.hint) }));
  if (error) node.append(el("p", { class: "bk-error", id: errorID, role: "alert" }, error));
  return node;
}

// collectState reads the inputs of a modal as Slack's view.state.values.
function collectState(root) {
  const values = {};
  root.querySelectorAll(".bk-input").forEach((block) => {
    const field = block.querySelector("[data-type]");
    if (!field) return;
    const id = block.dataset.blockId;
    const type = field.dataset.type;
    let v = { type };
    if (type === "plain_text_input") v.value = field.value === "" ? null : field.value;
    else if (type === "static_select") {
      const o = field.selectedOptions[0];
      v.selected_option = o && o.value ? { text: { type: "plain_text", text: o.textContent, emoji: true }, value: o.value } : null;
    } else if (type === "external_select") v.selected_option = field.dataset.selected ? JSON.parse(field.dataset.selected) : null;
    else return;
    values[id] = { [field.dataset.actionId]: v };
  });
  return values;
}

// ---- the channel ----

function timeOf(ts) {
  const d = new Date(Number(ts.split(".")[0]) * 1000);
  return pad(d.getHours()) + ":" + pad(d.getMinutes());
}

function renderMessage(m) {
  const initial = (m.author || "?").slice(0, 1).toUpperCase();
  const avatarClass = "avatar" + (m.user === "USLACKBOT" ? " slackbot" : m.bot ? " bot" : "");
  const body = el("div", { class: "msg-body" },
    el("div", { class: "msg-head" },
      el("span", { class: "author" }, m.author || m.user),
      m.bot && m.user !== "USLACKBOT" ? el("span", { class: "badge" }, "APP") : null,
      el("time", { class: "time", datetime: new Date(Number(m.ts.split(".")[0]) * 1000).toISOString() }, timeOf(m.ts)),
      m.edited ? el("span", { class: "edited" }, "(edited)") : null));
  if (m.blocks && m.blocks.length) body.append(renderBlocks(m.blocks, { ts: m.ts }));
  else if (m.text) body.append(el("div", { class: "bk-text", html: mrkdwn(m.text) }));
  for (const f of m.files || []) {
    const link = el("a", { href: f.url, target: "_blank", rel: "noopener" }, f.title || f.name);
    const fileNode = el("div", { class: "bk-file" }, "📎 ", link, " ", el("span", { class: "time" }, Math.ceil(f.size / 1024) + " KB"));
    if ((f.mimetype || "").startsWith("image/")) fileNode.append(el("img", { src: f.url, alt: f.title || f.name }));
    body.append(fileNode);
  }
  if (m.problem) body.append(el("div", { class: "problem", role: "note" }, "⚠️ " + m.problem));
  if (m.ephemeral) {
    body.append(el("div", { class: "ephemeral-note" }, "👁 Only visible to you ·",
      el("button", { type: "button", class: "linkish", onclick: () => post("/console/dismiss", { ts: m.ts }) }, "Dismiss")));
  }
  return el("article", { class: "msg" + (m.ephemeral ? " ephemeral" : ""), "data-ts": m.ts, "aria-label": (m.author || "") + " at " + timeOf(m.ts) },
    el("div", { class: avatarClass, "aria-hidden": "true" }, initial), body);
}

function renderMessages() {
  const box = $("#messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const focusedTS = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-ts]");
  const focusedAction = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.actionId : null;
  const messages = state.snap.messages;
  const replies = {};
  for (const m of messages) if (m.thread_ts && m.thread_ts !== m.ts) (replies[m.thread_ts] = replies[m.thread_ts] || []).push(m);
  const nodes = [];
  for (const m of messages) {
    if (m.thread_ts && m.thread_ts !== m.ts && messages.some((p) => p.ts === m.thread_ts)) continue;
    nodes.push(renderMessage(m));
    const r = replies[m.ts];
    if (r) {
      nodes.push(el("div", { class: "thread-label" }, r.length + (r.length === 1 ? " reply" : " replies")));
      nodes.push(el("div", { class: "thread", role: "group", "aria-label": "Thread" }, r.map(renderMessage)));
    }
  }
  if (!nodes.length) nodes.push(el("p", { class: "empty" }, "Nothing here yet. Type /charlize list below, or pick a suggestion."));
  box.replaceChildren(...nodes);
  announceNews(messages);
  if (focusedTS && focusedAction) {
    const again = box.querySelector('[data-ts="' + focusedTS.dataset.ts + '"] [data-action-id="' + CSS.escape(focusedAction) + '"]');
    if (again) again.focus();
  }
  if (nearBottom) box.scrollTop = box.scrollHeight;
}

// announceNews reads out what is new or changed since the last render
// (the list itself is redrawn whole, so it is not a live region).
const seen = new Map();
let primed = false;
function announceNews(messages) {
  const news = [];
  for (const m of messages) {
    const key = m.text + "|" + (m.edited ? "e" : "");
    if (primed && seen.get(m.ts) !== key) news.push((m.author || "") + ": " + (m.text || "").slice(0, 200));
    seen.set(m.ts, key);
  }
  primed = true;
  if (news.length) announce(news.join(". "));
}

// ---- modals ----

function renderModal() {
  const root = $("#modal-root");
  const modal = state.snap.modal;
  const key = modal ? modal.id + "|" + modal.hash + "|" + JSON.stringify(modal.errors || {}) : "";
  if (key === state.modalKey) return;
  const kept = modal && state.modalKey.startsWith(modal.id + "|") ? collectState(root) : null;
  state.modalKey = key;
  if (!modal) { root.replaceChildren(); return; }
  const v = modal.view;
  const where = { viewID: modal.id, errors: modal.errors || {} };
  const titleID = nextID("title");
  const general = (modal.errors || {})[""];
  const form = el("form", { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": titleID, novalidate: true },
    el("div", { class: "modal-head" }, el("h2", { id: titleID }, plain(v.title)),
      el("button", { type: "button", class: "close", "aria-label": "Close", onclick: () => closeModal(modal.id) }, "×")),
    el("div", { class: "modal-body" }, general ? el("div", { class: "modal-error", role: "alert" }, general) : null, renderBlocks(v.blocks, where)),
    el("div", { class: "modal-foot" },
      el("button", { type: "button", class: "ghost", onclick: () => closeModal(modal.id) }, plain(v.close) || "Cancel"),
      v.submit ? el("button", { type: "submit", class: "primary" }, plain(v.submit)) : null));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    if (submit) submit.disabled = true;
    clearError();
    try { await post("/console/submit", { view_id: modal.id, state: collectState(root) }); }
    catch (err) { showError(err.message); }
    finally { if (submit) submit.disabled = false; }
  });
  form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); closeModal(modal.id); } });
  root.replaceChildren(el("div", { class: "modal-backdrop" }, form));
  if (kept) restoreState(root, kept);
  const first = root.querySelector('[aria-invalid="true"]') || root.querySelector("[data-focus]") || root.querySelector("input, textarea, select, button");
  if (first) first.focus();
}

// restoreState puts back what was typed when a modal is redrawn for
// inline errors.
function restoreState(root, values) {
  root.querySelectorAll(".bk-input").forEach((block) => {
    const saved = values[block.dataset.blockId];
    const field = block.querySelector("[data-type]");
    if (!saved || !field) return;
    const v = saved[field.dataset.actionId];
    if (!v) return;
    if (v.type === "plain_text_input" && v.value) field.value = v.value;
    if (v.type === "static_select" && v.selected_option) field.value = v.selected_option.value;
    if (v.type === "external_select" && v.selected_option) {
      field.dataset.selected = JSON.stringify(v.selected_option);
      field.querySelector("input").value = plain(v.selected_option.text);
    }
  });
}

async function closeModal(id) {
  await post("/console/close", { view_id: id, state: collectState($("#modal-root")) });
}

// ---- the page ----

function render() {
  const snap = state.snap;
  const picker = $("#user");
  if (picker.options.length !== snap.users.length) {
    picker.replaceChildren(...snap.users.map((u) => el("option", { value: u.id }, u.name + " — " + u.title)));
    $("#people").replaceChildren(...snap.users.map((u) => el("li", {}, "@" + u.name, " ", el("span", { class: "title" }, u.title))));
  }
  picker.value = snap.me.id;
  renderMessages();
  renderModal();
}

function setup() {
  $("#user").addEventListener("change", (ev) => {
    state.me = ev.target.value;
    localStorage.setItem("charlize-demo-user", state.me);
    state.modalKey = "";
    announce("Now acting as " + nameOf(state.me));
    listen();
    refresh();
  });
  $("#reset").addEventListener("click", async () => {
    if (!(await confirmWith({ title: { type: "plain_text", text: "Reset the demo?" },
      text: { type: "plain_text", text: "The channel is cleared and the simulated fleet goes back to how it started." },
      confirm: { type: "plain_text", text: "Reset" }, deny: { type: "plain_text", text: "Cancel" }, style: "danger" }))) return;
    clearError();
    try { await post("/console/reset", {}); } catch (err) { showError(err.message); return; }
    announce("Demo reset");
  });
  const compose = $("#compose");
  const send = async () => {
    const text = compose.value.trim();
    if (!text) return;
    compose.value = "";
    clearError();
    try { await post("/console/command", { text }); } catch (err) { showError(err.message); }
  };
  $("#composer").addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  compose.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send(); } });
  document.querySelectorAll(".chip").forEach((chip) => chip.addEventListener("click", () => { compose.value = chip.dataset.text; compose.focus(); }));
  document.addEventListener("click", (ev) => {
    document.querySelectorAll(".bk-menu:not([hidden])").forEach((menu) => {
      if (!menu.parentElement.contains(ev.target)) { menu.hidden = true; menu.previousElementSibling.setAttribute("aria-expanded", "false"); }
    });
  });
  $("#error-close").addEventListener("click", clearError);
  refresh().then(listen).catch((err) => showError(err.message));
}

document.addEventListener("DOMContentLoaded", setup);
