/* Behaviour of the mailbox setup pages. Everything also works without this
   script; it only saves typing and shows what is relevant. Loaded as a
   file, never inline, so a strict Content-Security-Policy allows it. */
(function () {
  "use strict";

  function byName(form, name) {
    return form.querySelector('[name="' + name + '"]');
  }

  function checkedValue(form, name) {
    var field = form.querySelector('[name="' + name + '"]:checked') || byName(form, name);
    return field ? field.value : "";
  }

  /* Show the SMTP username and password only when they differ. */
  function setUpSameCredentials(form) {
    var box = byName(form, "smtp_same_credentials");
    var fields = form.querySelector("[data-smtp-credentials]");
    if (!box || !fields) { return; }
    var update = function () { fields.hidden = box.checked; };
    box.addEventListener("change", update);
    update();
  }

  /* Follow the usual port of a protocol and security, unless the user typed another. */
  function setUpDefaultPorts(form) {
    var ports = JSON.parse(form.getAttribute("data-default-ports") || "{}");
    var known = Object.keys(ports).map(function (key) { return String(ports[key]); });
    var servers = [
      { port: "incoming_port", security: "incoming_security", protocol: function () { return checkedValue(form, "incoming_protocol") || "imap"; } },
      { port: "smtp_port", security: "smtp_security", protocol: function () { return "smtp"; } }
    ];
    servers.forEach(function (server) {
      var port = byName(form, server.port);
      if (!port) { return; }
      var update = function () {
        var usual = ports[server.protocol() + ":" + checkedValue(form, server.security)];
        if (usual && (port.value === "" || known.indexOf(port.value) !== -1)) { port.value = usual; }
      };
      form.querySelectorAll('[name="' + server.security + '"], [name="incoming_protocol"]').forEach(function (field) {
        field.addEventListener("change", update);
      });
    });
  }

  /* Suggest smtp.example.com once imap.example.com is typed. */
  function setUpSmtpHost(form) {
    var incoming = byName(form, "incoming_host");
    var outgoing = byName(form, "smtp_host");
    if (!incoming || !outgoing || outgoing.value) { return; }
    incoming.addEventListener("change", function () {
      var match = /^(imap|pop3?|mail)\.(.+)$/i.exec(incoming.value.trim());
      if (match && !outgoing.value) { outgoing.value = "smtp." + match[2]; }
    });
  }

  /* Show the users and groups only for the custom sharing setting. */
  function setUpSharing(form) {
    var custom = form.querySelector("[data-sharing-custom]");
    if (!custom) { return; }
    var fields = form.querySelectorAll('[name="sharing_mode"]');
    var update = function () {
      var mode = checkedValue(form, "sharing_mode");
      custom.hidden = mode !== "custom";
    };
    fields.forEach(function (field) { field.addEventListener("change", update); });
    update();
  }

  /* A connection check takes a few seconds: show that it runs, and prevent a second click. */
  function setUpBusyState(form) {
    var text = form.getAttribute("data-busy-text");
    if (!text) { return; }
    form.addEventListener("submit", function () {
      var button = form.querySelector('button[type="submit"]');
      if (!button) { return; }
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = text;
      }, 0);
    });
  }

  document.querySelectorAll("form").forEach(function (form) {
    setUpSameCredentials(form);
    setUpDefaultPorts(form);
    setUpSmtpHost(form);
    setUpSharing(form);
    setUpBusyState(form);
  });

  /* Move the keyboard focus to the failed check or the list of errors, so
     screen readers read it first. */
  var failedCheck = document.querySelector("#check-result.border-danger");
  var summary = failedCheck || document.getElementById("form-errors");
  if (summary) { summary.focus(); }
})();
