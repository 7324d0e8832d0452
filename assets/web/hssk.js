// HSSK's additions to the Flet web page (served by app/web.py).
//
// Numbers are typed with a decimal comma ("62,5 kg"). Flet 1.0.5 can only ask Flutter for
// its "number" keyboard, which a browser shows as inputmode="numeric": on an iPhone that is
// digits without a comma. Every numeric input the page makes is asked for the decimal
// keypad instead (digits and the phone's own decimal separator).
(function () {
  function decimal(node) {
    if (node.nodeType !== 1) return;
    if (node.getAttribute("inputmode") === "numeric") node.setAttribute("inputmode", "decimal");
    node.querySelectorAll('[inputmode="numeric"]').forEach(function (el) {
      el.setAttribute("inputmode", "decimal");
    });
  }
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      if (change.type === "attributes") decimal(change.target);
      change.addedNodes.forEach(decimal);
    });
  }).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["inputmode"],
  });
})();
