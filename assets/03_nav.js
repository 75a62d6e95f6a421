// Browser-side callbacks of the page frame (an assets file reaches every app instance; an inline
// clientside callback is handed to the first Dash app of a process only).
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    iam: Object.assign({}, (window.dash_clientside || {}).iam, {
        // the navbar toggler opens and closes the folded menu
        toggle: function (n, open) { return !open; }
    })
});
