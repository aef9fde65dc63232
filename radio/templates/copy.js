(function () {
  var button = document.getElementById("copy");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var input = document.getElementById("feed-url"), done = document.getElementById("copied");
    function ok() { done.textContent = {{ _("Copied")|tojson }}; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(ok, function () { input.select(); document.execCommand("copy"); ok(); });
    } else { input.select(); document.execCommand("copy"); ok(); }
  });
})();
