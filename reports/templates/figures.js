// Draws every Plotly figure of the page from its JSON block, <script type="application/json" data-figure="ID">,
// into the div with that id (served as a file: the server's Content-Security-Policy runs no inline script).
document.querySelectorAll('script[type="application/json"][data-figure]').forEach(function (block) {
  var figure = JSON.parse(block.textContent);
  Plotly.newPlot(block.dataset.figure, figure.data, figure.layout, figure.config);
});
