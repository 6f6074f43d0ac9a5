// The clinic page's people table: a click on Person, Status or Deadline sorts its rows (served as a file:
// the server's Content-Security-Policy runs no inline script).
document.querySelectorAll("table.people button[data-sort]").forEach(function (button) {
  button.addEventListener("click", function () {
    var header = button.parentElement, key = button.dataset.sort, body = header.closest("table").tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    header.closest("tr").querySelectorAll("th[aria-sort]").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    Array.from(body.rows)
      .sort(function (a, b) { return (ascending ? 1 : -1) * a.dataset[key].localeCompare(b.dataset[key]); })
      .forEach(function (row) { body.appendChild(row); });
  });
});
