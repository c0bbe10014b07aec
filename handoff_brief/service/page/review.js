// The review page: check a pasted or uploaded handoff, list its findings, show its brief.
// Everything from the server or the handoff is shown with textContent, never as HTML; the
// brief's own HTML goes only into a sandboxed frame (no scripts, an opaque origin).
"use strict";

(() => {
  const TOKEN_KEY = "handoff-brief.api-token";
  const $ = (id) => document.getElementById(id);

  const form = $("review-form");
  const text = $("handoff-text");
  const file = $("handoff-file");
  const fileName = $("file-name");
  const token = $("api-token"); // only there when the server asks for a token
  const checkButton = $("check-button");
  const status = $("status");
  const message = $("message");
  const result = $("result");
  const frame = $("brief-frame");
  const briefEmpty = $("brief-empty");
  const briefTitle = $("brief-title");
  const briefMessage = $("brief-message");
  const downloadButton = $("download-button");

  // What was last checked: the PDF download renders exactly that text.
  let checked = null; // {body, type, id, draft}
  let downloadUrl = null;

  if (token) {
    token.value = sessionStorage.getItem(TOKEN_KEY) || "";
    token.addEventListener("input", () => {
      if (token.value) sessionStorage.setItem(TOKEN_KEY, token.value);
      else sessionStorage.removeItem(TOKEN_KEY);
    });
  }

  // JSON when the first non-blank character is `{`, else YAML.
  function contentType(body) {
    return body.trimStart().startsWith("{") ? "application/json" : "application/yaml";
  }

  function post(path, body, type) {
    const headers = { "Content-Type": type };
    if (token && token.value) headers.Authorization = "Bearer " + token.value;
    return fetch(path, { method: "POST", headers, body, cache: "no-store" });
  }

  async function json(response) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  // A sentence a person can act on, for any response that is not the one hoped for.
  async function failure(response, what) {
    const code = `${response.status} ${response.statusText}`.trim();
    const body = await json(response);
    const said = body && [body.error, body.detail].find((m) => typeof m === "string");
    const detail = said && said !== response.statusText ? `: ${said}` : "";
    if (response.status === 401) {
      return token
        ? `The server refused the request (${code}): the API token is missing or wrong. ` +
            "Enter the token the server was started with, then try again."
        : `The server refused the request (${code}): it asks for an API token. ` +
            "Reload the page to get the token field.";
    }
    if (response.status === 413) {
      return `The handoff is too large for the server (${code})` +
        (detail || ": a handoff may be at most 2 MiB") + ". Remove embedded data or split it.";
    }
    if (response.status === 429) {
      const after = response.headers.get("Retry-After");
      return `The server is busy (${code}): try again` +
        (after ? ` in ${after} seconds.` : " in a moment.");
    }
    if (response.status >= 500) {
      return `The server failed ${what} (${code})${detail}. Try again; if it keeps ` +
        "failing, tell whoever runs the server.";
    }
    return `Unexpected answer from the server ${what} (${code})${detail}.`;
  }

  function show(element, note) {
    element.textContent = note;
    element.hidden = !note;
  }

  function element(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }

  // Text with `code` spans, as the server's messages write field names: built from text
  // nodes and <code> elements, so nothing in it is ever parsed as HTML.
  function prose(tag, className, content) {
    const node = element(tag, className);
    String(content).split("`").forEach((part, index) => {
      if (part) node.append(index % 2 ? element("code", "", part) : document.createTextNode(part));
    });
    return node;
  }

  function clearResult() {
    show(message, "");
    show(briefMessage, "");
    result.hidden = true;
    for (const id of ["problems", "errors", "warnings"]) $(id).hidden = true;
    for (const id of ["problem-list", "error-list", "warning-list"]) $(id).replaceChildren();
    $("verdict").className = "verdict";
    clearBrief("Check a handoff to see its brief here.");
  }

  function clearBrief(note) {
    frame.srcdoc = "";
    frame.classList.remove("shown");
    briefEmpty.textContent = note;
    briefEmpty.hidden = false;
    briefTitle.textContent = "The brief";
    downloadButton.disabled = true;
  }

  function showProblems(problems) {
    $("verdict").textContent = `Invalid: ${problems.length} ` +
      (problems.length === 1 ? "problem" : "problems") + " to fix before it is a handoff";
    $("verdict").classList.add("verdict-invalid");
    const list = $("problem-list");
    for (const problem of problems) {
      const item = element("li", "item item-problem");
      item.dataset.path = problem.path || "";
      const where = element("div", "item-where");
      if (problem.line !== null && problem.line !== undefined) {
        where.append(element("span", "line", `line ${problem.line}`));
      }
      if (problem.path) where.append(element("code", "path", problem.path));
      item.append(where, prose("p", "item-message", problem.message));
      list.append(item);
    }
    $("problems").hidden = false;
    result.hidden = false;
  }

  function showFindings(report) {
    const verdict = $("verdict");
    verdict.textContent = report.ready ? "Ready" : "Not ready: the seller would get a draft";
    verdict.classList.add(report.ready ? "verdict-ready" : "verdict-draft");
    $("handoff-id").textContent = `Handoff ${report.id}`;
    for (const level of ["error", "warning"]) {
      const findings = report.findings.filter((f) => f.level === level);
      const list = $(`${level}-list`);
      for (const finding of findings) {
        const item = element("li", `item item-${level}`);
        item.dataset.rule = finding.rule;
        item.dataset.level = level;
        const where = element("div", "item-where");
        where.append(element("code", "rule", finding.rule));
        if (finding.path) where.append(element("code", "path", finding.path));
        item.append(where, prose("p", "item-message", finding.message));
        if (finding.fix) item.append(prose("p", "item-fix", finding.fix));
        list.append(item);
      }
      $(`${level}-count`).textContent = String(findings.length);
      $(`${level}s`).hidden = findings.length === 0;
    }
    result.hidden = false;
  }

  async function showBrief(current) {
    const query = `format=html&draft=${current.draft}`;
    const response = await post(`v1/briefs?${query}`, current.body, current.type);
    if (!response.ok) {
      clearBrief("No brief to show.");
      show(briefMessage, await failure(response, "to render the brief"));
      return;
    }
    frame.srcdoc = await response.text();
    frame.classList.add("shown");
    briefEmpty.hidden = true;
    briefTitle.textContent = current.draft ? "The brief (draft)" : "The brief";
    downloadButton.disabled = false;
  }

  async function check() {
    const body = text.value;
    clearResult();
    checked = null;
    if (!body.trim()) {
      show(message, "Paste a handoff or upload a file first.");
      return;
    }
    const type = contentType(body);
    checkButton.disabled = true;
    status.textContent = "Checking…";
    try {
      const response = await post("v1/check", body, type);
      const report = await (response.ok || response.status === 422 ? json(response) : null);
      if (response.status === 422 && report && Array.isArray(report.problems)) {
        showProblems(report.problems);
        clearBrief("An invalid handoff has no brief.");
        return;
      }
      if (!response.ok || !report || !Array.isArray(report.findings)) {
        show(message, await failure(response, "to check the handoff"));
        return;
      }
      showFindings(report);
      checked = { body, type, id: report.id, draft: !report.ready };
      status.textContent = "Rendering the brief…";
      await showBrief(checked);
    } catch (error) {
      show(message, `Could not reach the server: ${error.message}. Is it still running?`);
    } finally {
      checkButton.disabled = false;
      status.textContent = "";
    }
  }

  async function download() {
    if (!checked) return;
    const current = checked;
    downloadButton.disabled = true;
    show(briefMessage, "");
    status.textContent = "Rendering the PDF…";
    try {
      const response = await post(`v1/briefs?format=pdf&draft=${current.draft}`,
                                  current.body, current.type);
      if (!response.ok) {
        show(briefMessage, await failure(response, "to render the PDF"));
        return;
      }
      const blob = await response.blob();
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      downloadUrl = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = downloadUrl;
      link.download = current.draft ? `${current.id}-draft.pdf` : `${current.id}.pdf`;
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      show(briefMessage, `Could not reach the server: ${error.message}. Is it still running?`);
    } finally {
      downloadButton.disabled = checked !== current;
      status.textContent = "";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });

  downloadButton.addEventListener("click", download);

  // Once the text changes, the findings and the brief shown are of the old text.
  text.addEventListener("input", () => {
    if (checked) {
      checked = null;
      downloadButton.disabled = true;
      status.textContent = "The text changed: check again.";
    }
  });

  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    try {
      text.value = await chosen.text();
      fileName.textContent = chosen.name;
      text.dispatchEvent(new Event("input"));
      status.textContent = `Loaded ${chosen.name}: press Check.`;
    } catch (error) {
      show(message, `Could not read ${chosen.name}: ${error.message}`);
    } finally {
      file.value = "";
    }
  });
})();
