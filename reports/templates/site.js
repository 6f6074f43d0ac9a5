/* CE compliance site: long tables (table.paged) are paged, searched, sorted and filtered by status.
   Loaded by every page from its <head>, never inline, so that a Content-Security-Policy can forbid inline
   script. Without it every row is on the page (site.css hides rows past the first page only once this file
   has marked the document with the class `js`).
   A link may name what to show in its fragment: `#status=overdue` filters a clinic page's people by status,
   `#lic-...` opens the page of the table that holds that row and scrolls to it.
   Charts are JSON blocks (script[type="application/json"][data-chart]), drawn with Plotly, which this file
   loads from beside itself on pages marked <html data-charts>. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var plotlySrc = document.currentScript.src.replace(/site\.js([?#].*)?$/, "plotly.min.js");

  /* Plotly is fetched and compiled (off the main thread: a script inserted so is async) while the page
     parses, and the charts are drawn once both are done. */
  var plotlyLoaded = new Promise(function (resolve) {
    if (!document.documentElement.hasAttribute("data-charts")) return;
    var script = document.createElement("script");
    script.src = plotlySrc;
    script.addEventListener("load", resolve);
    document.head.appendChild(script);
  });

  function drawCharts() {
    document.querySelectorAll("script[type='application/json'][data-chart]").forEach(function (block) {
      var figure = JSON.parse(block.textContent);
      window.Plotly.newPlot(document.getElementById(block.getAttribute("data-chart")), figure.data, figure.layout, figure.config);
    });
  }

  var tables = new Map();

  function numberText(n) { return n.toLocaleString("en-US"); }

  function PagedTable(table) {
    this.table = table;
    this.body = table.tBodies[0];
    this.rows = Array.prototype.slice.call(this.body.rows);
    this.pageRows = parseInt(table.getAttribute("data-page-rows"), 10) || this.rows.length || 1;
    this.page = 0;
    this.query = "";
    this.status = "";
    this.matching = this.rows;
    this.pager = document.createElement("nav");
    this.pager.className = "pager";
    this.pager.setAttribute("aria-label", "Pages of this table");
    this.previous = this.button("‹ Previous", -1);
    this.shown = document.createElement("span");
    this.shown.setAttribute("aria-live", "polite");
    this.next = this.button("Next ›", 1);
    this.pager.append(this.previous, this.shown, this.next);
    var box = table.parentElement.classList.contains("scroll") ? table.parentElement : table;
    box.after(this.pager);
    table.classList.add("paging");
    this.refresh();
  }

  PagedTable.prototype.button = function (label, step) {
    var self = this, button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", function () { self.page += step; self.refresh(); });
    return button;
  };

  PagedTable.prototype.matches = function (row) {
    if (this.status && row.getAttribute("data-status-key") !== this.status) return false;
    if (!this.query) return true;
    var text = row.getAttribute("data-search") || row.textContent.toLowerCase();
    return text.indexOf(this.query) !== -1;
  };

  PagedTable.prototype.refresh = function () {
    var self = this;
    this.matching = this.rows.filter(function (row) { return self.matches(row); });
    var pages = Math.max(1, Math.ceil(this.matching.length / this.pageRows));
    this.page = Math.max(0, Math.min(this.page, pages - 1));
    var first = this.page * this.pageRows, visible = new Set(this.matching.slice(first, first + this.pageRows));
    this.rows.forEach(function (row) { row.hidden = !visible.has(row); });
    var count = this.matching.length;
    this.shown.textContent = count === 0 ? "No row matches"
      : (pages > 1 ? "Rows " + numberText(first + 1) + "–" + numberText(Math.min(first + this.pageRows, count)) + " of " : "") +
        numberText(count) + (count === this.rows.length ? "" : " of " + numberText(this.rows.length)) + (count === 1 ? " row" : " rows");
    this.previous.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
    this.previous.hidden = this.next.hidden = pages === 1;
  };

  PagedTable.prototype.sort = function (header, key, numeric) {
    var ascending = header.getAttribute("aria-sort") !== "ascending", sign = ascending ? 1 : -1;
    header.closest("tr").querySelectorAll("th[aria-sort]").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    this.rows.sort(function (a, b) {
      var x = a.getAttribute("data-" + key), y = b.getAttribute("data-" + key);
      return sign * (numeric ? Number(x) - Number(y) : x.localeCompare(y));
    });
    var body = this.body;
    this.rows.forEach(function (row) { body.appendChild(row); });
    this.page = 0;
    this.refresh();
  };

  /* Show the row with this id: the page that holds it, with any filter that hides it cleared. */
  PagedTable.prototype.reveal = function (row) {
    if (!this.matches(row)) {
      this.query = this.status = "";
      document.querySelectorAll("[data-search-table='" + this.table.id + "'], [data-status-table='" + this.table.id + "']")
        .forEach(function (control) { control.value = ""; });
      this.refresh();
    }
    this.page = Math.floor(this.matching.indexOf(row) / this.pageRows);
    this.refresh();
    row.scrollIntoView({ block: "center" });
  };

  function tableOf(control, attribute) {
    return tables.get(document.getElementById(control.getAttribute(attribute)));
  }

  function setStatus(paged, status) {
    paged.status = status;
    paged.page = 0;
    paged.refresh();
  }

  function followFragment() {
    var fragment = decodeURIComponent(location.hash.slice(1));
    if (fragment.indexOf("status=") === 0) {
      var status = fragment.slice("status=".length);
      document.querySelectorAll("select[data-status-table]").forEach(function (select) {
        if (!select.querySelector("option[value='" + status + "']")) return;
        select.value = status;
        setStatus(tableOf(select, "data-status-table"), status);
        select.closest("section").scrollIntoView();
      });
      return;
    }
    var target = fragment && document.getElementById(fragment);
    var paged = target && target.tagName === "TR" && tables.get(target.closest("table"));
    if (paged) paged.reveal(target);
  }

  /* Served by `ce-compliance serve`, a page asks the server which of its links the signed-in person may
     open: every other one (a manager's link to the organisation overview, say) becomes plain text, as the
     server would answer it 404; the masthead names who is signed in, with a link to sign out. Opened from
     a file or from a plain web server, the page stays as published. */
  function keepOpenableLinks() {
    var endpoint = document.body.dataset.links;
    if (!endpoint || !/^https?:$/.test(location.protocol)) return;
    var anchors = Array.prototype.filter.call(document.querySelectorAll("a[href]"), function (a) {
      return a.origin === location.origin;
    });
    var paths = Array.from(new Set(anchors.map(function (a) { return a.pathname; })));
    fetch(endpoint, {
      method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({paths: paths})
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (!answer) return;
      var allowed = new Set(answer.allowed);
      anchors.forEach(function (a) {
        if (allowed.has(a.pathname)) return;
        var text = document.createElement("span");
        text.className = "unavailable";
        while (a.firstChild) text.appendChild(a.firstChild);
        a.replaceWith(text);
      });
      if (answer.email) showSignedIn(answer.email);
    }).catch(function () { /* no answer: the links stay */ });
  }

  function showSignedIn(email) {
    var stamp = document.querySelector(".masthead .stamp");
    if (!stamp) return;
    function link(href, text) { var a = document.createElement("a"); a.href = href; a.textContent = text; return a; }
    var who = document.createElement("strong");
    who.textContent = email;
    var line = document.createElement("span");
    line.className = "signed-in";
    line.append("Signed in as ", who, " · ", link("/", "Your pages"), " · ", link("/logout", "Sign out"));
    stamp.prepend(line, document.createElement("br"));
  }

  document.addEventListener("DOMContentLoaded", function () {
    keepOpenableLinks();  // before the tables are paged and sorted: it sees every row's links
    document.querySelectorAll("table.paged").forEach(function (table) { tables.set(table, new PagedTable(table)); });
    document.querySelectorAll("table.paged th[aria-sort] button[data-sort]").forEach(function (button) {
      button.addEventListener("click", function () {
        tables.get(button.closest("table")).sort(button.parentElement, button.getAttribute("data-sort"), button.getAttribute("data-sort-type") === "number");
      });
    });
    document.querySelectorAll("input[data-search-table]").forEach(function (input) {
      input.addEventListener("input", function () {
        var paged = tableOf(input, "data-search-table");
        paged.query = input.value.trim().toLowerCase();
        paged.page = 0;
        paged.refresh();
      });
    });
    document.querySelectorAll("select[data-status-table]").forEach(function (select) {
      select.addEventListener("change", function () {
        setStatus(tableOf(select, "data-status-table"), select.value);
        try {
          history.replaceState(null, "", select.value ? "#status=" + select.value : location.pathname + location.search);
        } catch (error) { /* a page opened from a file may refuse: the filter still applies */ }
      });
    });
    followFragment();
    window.addEventListener("hashchange", followFragment);
    plotlyLoaded.then(drawCharts);
  });
})();
