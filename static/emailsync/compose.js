// Disable the Send button once the form is submitted, so a second click
// does not send the same email twice while the server is still working.
document.querySelectorAll("form.compose-form").forEach(function (form) {
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    if (!button) {
      return;
    }
    button.disabled = true;
    button.textContent = button.dataset.sendingLabel || button.textContent;
  });
});
