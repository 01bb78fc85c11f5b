import { FEED_MAIN, NodeProcess } from '../../../support/node-process';

export { FEED_MAIN, requireBuild } from '../../../support/node-process';

/** A real `node dist/price-feed.main.js` child process with its output collected line by line. */
export class FeedProcess extends NodeProcess {
  constructor(env: Record<string, string | undefined>, args: string[] = []) {
    super(FEED_MAIN, env, args);
  }
}
