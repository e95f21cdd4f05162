'use strict';
// paved's uptime check (components/uptime.py): one HTTPS GET per URL in PAVED_UPTIME_URLS (space-separated),
// each its own step, so the run's report names the path that failed. A step passes on 2xx only, so a
// redirect fails it: list the path the redirect lands on.
// The browserless syn-nodejs runtimes (3.1 and later) name the library @aws/synthetics-core, which exports
// an object named synthetics (aws/cloudwatch-synthetics-sdk-nodejs, packages/synthetics-core/lib/index.d.ts).
const { synthetics } = require('@aws/synthetics-core');

exports.handler = async () => {
  const urls = (process.env.PAVED_UPTIME_URLS || '').split(' ').filter(Boolean);
  if (urls.length === 0) {
    throw new Error('PAVED_UPTIME_URLS names no URL to check');
  }
  for (const url of urls) {
    const target = new URL(url);
    await synthetics.executeHttpStep(`GET ${target.pathname}`, {
      protocol: 'https:',
      hostname: target.hostname,
      port: 443,
      path: `${target.pathname}${target.search}`,
      method: 'GET',
      headers: { 'User-Agent': synthetics.getCanaryUserAgentString() },
    });
  }
};
