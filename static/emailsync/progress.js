/* Keep the mailbox page's sync status current without reloading it.
   Polls the progress endpoint while a sync is queued or running, and
   stops once nothing changes any more. */
(function () {
  "use strict";

  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var delay = 2000;
  var maxDelay = 30000;

  function field(name) {
    return box.querySelector('[data-field="' + name + '"]') || document.querySelector('[data-field="' + name + '"]');
  }

  function setText(name, value) {
    var element = field(name);
    if (element) { element.textContent = value; }
  }

  function updateProgress(data) {
    var wrapper = field("progress");
    if (!wrapper) { return; }
    wrapper.hidden = data.percent === null;
    var bar = wrapper.querySelector("progress");
    if (bar && data.percent !== null) { bar.value = data.percent; }
    setText("progress-text", data.progress_text);
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function updateFolders(folders) {
    var body = field("folders");
    if (!body || !folders.length) { return; }
    var never = body.getAttribute("data-never");
    var rows = folders.map(function (folder) {
      var row = document.createElement("tr");
      row.appendChild(cell(folder.name));
      row.appendChild(cell(folder.last_synced || never));
      row.appendChild(cell(String(folder.backlog)));
      row.appendChild(cell(String(folder.failed_count)));
      return row;
    });
    body.replaceChildren.apply(body, rows);
  }

  function update(data) {
    var label = field("label");
    if (label) {
      label.textContent = data.label;
      label.setAttribute("data-state", data.state);
    }
    setText("message", data.message);
    setText("last-synced", data.last_synced || field("last-synced").textContent);
    var lastError = field("last-error");
    if (lastError) { lastError.textContent = data.last_error || lastError.getAttribute("data-none"); }
    setText("failed-count", String(data.failed_count));
    updateProgress(data);
    updateFolders(data.folders || []);
    box.setAttribute("data-changing", data.is_changing ? "true" : "false");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        delay = 2000;
        update(data);
        if (data.is_changing) { window.setTimeout(poll, delay); }
      })
      .catch(function () {
        // The server or the network hiccuped: try again, less and less often.
        delay = Math.min(delay * 2, maxDelay);
        window.setTimeout(poll, delay);
      });
  }

  if (box.getAttribute("data-changing") === "true") { window.setTimeout(poll, delay); }
})();
