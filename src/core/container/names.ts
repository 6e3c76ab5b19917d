/** Container names: moby's validation rule and a generator of `adjective_surname` names. */
import { invalidArgument } from '../../lib/errdefs.js';

const validName = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateName(name: string): string {
  if (!validName.test(name)) throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name.slice(1) : name;
}

// Our own word lists: plain adjectives and the surnames of engineers and scientists.
const adjectives = [
  'agile', 'amber', 'ample', 'bold', 'brave', 'bright', 'brisk', 'calm', 'candid', 'clever', 'cosmic', 'crisp',
  'daring', 'deft', 'eager', 'earnest', 'fervent', 'fluent', 'frank', 'gentle', 'glad', 'golden', 'hardy', 'humble',
  'jolly', 'keen', 'kind', 'lively', 'loyal', 'lucid', 'merry', 'mellow', 'nimble', 'noble', 'patient', 'plucky',
  'polite', 'proud', 'quick', 'quiet', 'rapid', 'ready', 'serene', 'sharp', 'silent', 'sleek', 'smart', 'snug',
  'steady', 'stoic', 'sunny', 'swift', 'tidy', 'tranquil', 'upbeat', 'vivid', 'warm', 'wise', 'witty', 'zesty',
];
const surnames = [
  'agnesi', 'babbage', 'backus', 'bardeen', 'bohr', 'boole', 'cerf', 'curie', 'dijkstra', 'einstein', 'euler',
  'faraday', 'fermat', 'feynman', 'gauss', 'hamilton', 'hopper', 'hypatia', 'johnson', 'kahn', 'kepler', 'knuth',
  'lamarr', 'lamport', 'liskov', 'lovelace', 'maxwell', 'meitner', 'mirzakhani', 'newton', 'noether', 'pascal',
  'perlman', 'planck', 'ritchie', 'shannon', 'somerville', 'tesla', 'thompson', 'torvalds', 'turing', 'wilson',
  'wozniak', 'yalow', 'zuse',
];

/** A random `adjective_surname`; `attempt` > 0 appends a digit as moby does on collision. */
export function generateName(random: () => number = Math.random, attempt = 0): string {
  const a = adjectives[Math.floor(random() * adjectives.length)]!;
  const s = surnames[Math.floor(random() * surnames.length)]!;
  return attempt > 0 ? `${a}_${s}${Math.floor(random() * 10)}` : `${a}_${s}`;
}
