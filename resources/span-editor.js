/*
 * Shared by the editor definitions of the SPAN nodes (nodes/span-*.html). Node-RED serves a package's
 * resources/ folder at resources/<package name>/ and loads a node file's relative <script src> before the
 * node's own scripts, so every definition can use window.SpanEditor. The definitions themselves stay inline
 * registerType literals: the flow library's scorecard reads them from the HTML.
 */
(function () {
  'use strict';
  if (window.SpanEditor) return;

  /**
   * A node's `onadd`: Node-RED does not preselect a config node, so with exactly one span-panel a newly
   * dropped node uses it.
   */
  function preselectOnlyPanel() {
    if (this.panel) return;
    var panels = [];
    RED.nodes.eachConfig(function (n) {
      if (n.type === 'span-panel') panels.push(n.id);
    });
    if (panels.length === 1) this.panel = panels[0];
  }

  /** A port label from the node's locale, e.g. portLabel('span-poll.label.output'). */
  function portLabel(key) {
    return function () {
      return this._(key);
    };
  }

  /** POSTs a JSON body to one of the package's admin endpoints (they accept JSON only). */
  function postJson(url, body) {
    return $.ajax({
      url: url,
      type: 'POST',
      contentType: 'application/json',
      data: JSON.stringify(body),
      timeout: 30000,
    });
  }

  /** The error an admin endpoint answered with, or what went wrong on the way. */
  function errorText(xhr) {
    if (xhr && xhr.responseJSON && xhr.responseJSON.error) return xhr.responseJSON.error;
    if (xhr && xhr.status === 0) return 'no answer from Node-RED';
    return (xhr && xhr.statusText) || 'error';
  }

  window.SpanEditor = {
    preselectOnlyPanel: preselectOnlyPanel,
    portLabel: portLabel,
    postJson: postJson,
    errorText: errorText,
  };
})();
