// memlab (a test-only reference reader for `nodeprof heap`) depends on
// puppeteer, whose install step would download a browser: the tests never
// drive puppeteer, so it is told not to.
module.exports = { skipDownload: true };
