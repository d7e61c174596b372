// Progressive enhancement: add to basket without a page reload when the cart API is reachable.
(function () {
  "use strict";

  function updateBadge(count) {
    document.querySelectorAll("[data-cart-count]").forEach(function (el) {
      el.textContent = String(count);
    });
  }

  function flash(message, kind) {
    var main = document.querySelector("main");
    if (!main) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-" + kind;
    p.textContent = message;
    main.insertBefore(p, main.firstChild);
    window.setTimeout(function () { p.remove(); }, 4000);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("add-to-cart") || !window.fetch) { return; }
    event.preventDefault();
    var body = new FormData(form);
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", redirect: "manual" })
      .then(function () { return fetch("/cart", { credentials: "same-origin" }); })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var match = html.match(/data-cart-count>(\d+)</);
        if (match) { updateBadge(match[1]); }
        flash("Added to your basket", "ok");
      })
      .catch(function () { form.submit(); });
  });
}());
