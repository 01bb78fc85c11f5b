/**
 * An error a person can fix (a setting, a port, a folder, a server to start).
 * Its message is one complete paragraph naming what to change; entry points
 * print it alone, without a stack trace, and exit with code 1.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Wraps words at `width` columns (keeps paragraphs readable in a terminal). */
export function wrapParagraph(text: string, width = 100): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith(' ') || line.length <= width) return line; // indented lists stay as written
      const out: string[] = [];
      let cur = '';
      for (const word of line.split(' ')) {
        if (cur && cur.length + 1 + word.length > width) {
          out.push(cur);
          cur = word;
        } else {
          cur = cur ? `${cur} ${word}` : word;
        }
      }
      out.push(cur);
      return out.join('\n');
    })
    .join('\n');
}

/** A URL with its password replaced by `***` (for messages and logs). */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
