import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveBusSecret } from '../../src/bus/bus-secret';
import { BusSigner } from '../../src/bus/bus-signer';
import { MessageBus } from '../../src/bus/message-bus';
import { startTestApp, TEST_BUS_SECRET, type TestApp } from '../support/app';
import { metricSamples, OutputCapture } from '../support/output-capture';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { WsProbe } from '../support/realtime-probes';

const REDIS_URL = inject('redisUrl');

async function badSignatures(t: TestApp): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return (
    metricSamples(text, 'realtime_bus_messages_dropped_total').find((s) => s.labels.topic === 'prices.committed' && s.labels.reason === 'bad_signature')
      ?.value ?? 0
  );
}

async function watch(t: TestApp, symbol: string): Promise<WsProbe> {
  const ws = await WsProbe.open(t.wsUrl);
  await ws.next('connection');
  ws.send('subscribe_asset', { symbol });
  await ws.next('subscribed');
  await ws.next('asset_update'); // the snapshot
  return ws;
}

/**
 * Instances on one Redis: those with the same BUS_SECRET accept each other's signed messages;
 * one with another secret (here the development default, generated into its DATA_DIR) drops
 * them, and accepts what is signed with its own secret, which every process using that
 * DATA_DIR shares.
 */
describe('signed bus messages between instances', { timeout: 120_000 }, () => {
  const env = { REDIS_URL, REDIS_PREFIX: `rmtest-instances-${randomBytes(6).toString('hex')}:` };
  const dataDir = mkdtempSync(join(tmpdir(), 'rm-bus-datadir-'));
  const out = new OutputCapture();
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  const clients: WsProbe[] = [];

  beforeAll(async () => {
    out.install();
    a = await startTestApp(env); // BUS_SECRET = TEST_BUS_SECRET
    b = await startTestApp(env);
    c = await startTestApp({ ...env, BUS_SECRET: undefined, DATA_DIR: dataDir, NODE_ENV: 'development' });
    await Promise.all([a, b, c].map((x) => x.app.get(MessageBus).ready()));
  });
  afterAll(async () => {
    for (const ws of clients) await ws.close();
    try {
      await Promise.all([a?.close(), b?.close(), c?.close()]);
    } finally {
      out.restore();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a batch committed on one instance reaches the clients of another with the same secret, not of one with another secret', async () => {
    const onB = await watch(b, 'NVDA');
    const onC = await watch(c, 'NVDA');
    clients.push(onB, onC);
    const before = await badSignatures(a);

    await publishTicks(a, [tick('NVDA', '900.10')]);
    expect((await onB.next('asset_update', (m) => m.data.price === 900.1)).data.symbol).toBe('NVDA');

    // C's own next price travels through Redis after A's: once its client has it, C has had A's too (and dropped it).
    await publishTicks(c, [tick('NVDA', '900.20')]);
    await onC.next('asset_update', (m) => m.data.price === 900.2);
    expect(onC.inbox.received.filter((m) => m.type === 'asset_update' && m.data.price === 900.1)).toEqual([]);
    // And A and B dropped C's: unsigned for them. One registry per test process: C dropped 1, A and B 1 each.
    // (a bounded observation window: C's price must not show up on B)
    await onB
      .next('asset_update', (m) => m.data.price === 900.2, 300)
      .then(
        (m) => expect.fail(`B accepted a message signed with C's secret: ${JSON.stringify(m.data)}`),
        () => undefined,
      );
    expect((await badSignatures(a)) - before).toBe(3);
  });

  it('the development secret is generated once into DATA_DIR/bus-secret (0600) and shared by the processes using that DATA_DIR', async () => {
    const file = join(dataDir, 'bus-secret');
    const secret = readFileSync(file, 'utf8');
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(secret).not.toBe(TEST_BUS_SECRET);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(out.match(/BUS_SECRET is not set: generated one in .*bus-secret/)).toHaveLength(1);
    // A feed process on this machine with the same DATA_DIR resolves the same secret.
    const same = resolveBusSecret(
      { NODE_ENV: 'development', DATA_DIR: dataDir, BUS_SECRET: undefined },
      { warn: () => expect.fail('generated a second secret') },
    );
    expect(same).toBe(secret);

    const onB = await watch(b, 'AMD');
    const onC = await watch(c, 'AMD');
    clients.push(onB, onC);
    const pub = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const send = (signer: BusSigner, price: string) =>
        pub.publish(
          `${env.REDIS_PREFIX}prices.committed`,
          signer.seal('prices.committed', JSON.stringify({ ticks: [tick('AMD', price)], published_at: Date.now(), origin: 'feed-on-this-machine' })),
        );
      await send(new BusSigner(same), '150.50');
      await onC.next('asset_update', (m) => m.data.price === 150.5);
      // Same connection, later: once B has this one, it has had (and dropped) the one before.
      await send(new BusSigner(TEST_BUS_SECRET), '151.50');
      await onB.next('asset_update', (m) => m.data.price === 151.5);
      expect(onB.inbox.received.filter((m) => m.type === 'asset_update' && m.data.price === 150.5)).toEqual([]);
    } finally {
      pub.disconnect();
    }
  });
});
