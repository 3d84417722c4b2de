import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../local/apiserver/errors.js';
import { matchesFields, parseFieldSelector } from '../../local/apiserver/store/field-selectors.js';
import {
  fromLabelSelectorObject,
  labelSelectorToString,
  matchesLabels,
  parseLabelSelector,
} from '../../local/apiserver/store/selectors.js';
import type { KubeObject } from '../../local/apiserver/types.js';

const NAME_PART_REGEX =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_REGEX =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

function badRequestMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, 'must throw ApiError');
    assert.equal(err.code, 400);
    assert.equal(err.reason, 'BadRequest');
    return err.message;
  }
  assert.fail('expected a 400');
}

test('label selectors match like labels.Selector', () => {
  const labels = { app: 'im', tier: 'gw', zone: 'a', n: '5' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', labels, true],
    ['', undefined, true],
    ['app=im', labels, true],
    ['app==im', labels, true],
    ['app=other', labels, false],
    ['app!=other', labels, true],
    ['missing!=x', labels, true],
    ['tier in (gw,db)', labels, true],
    ['tier in (db)', labels, false],
    ['tier notin (db)', labels, true],
    ['missing notin (db)', labels, true],
    ['zone', labels, true],
    ['!zone', labels, false],
    ['!missing', labels, true],
    ['app=im, tier in (gw), !missing', labels, true],
    ['app=im,zone=b', labels, false],
    ['n>4', labels, true],
    ['n<4', labels, false],
    ['app=', { app: '' }, true],
    ['app in (,x)', { app: '' }, true],
    ['app=im', undefined, false],
  ];
  for (const [text, ls, want] of cases)
    assert.equal(matchesLabels(parseLabelSelector(text), ls), want, `${text} on ${JSON.stringify(ls)}`);
});

test('bad label selectors are refused with the apiserver message', () => {
  const cases: [string, string][] = [
    ['a=b,', "found '', expected: identifier after ','"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['a (b)', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ['-a=b', `unable to parse requirement: <nil>: Invalid value: "-a": ${NAME_PART_REGEX}`],
    ['/a', 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
    ['a=-b', `unable to parse requirement: values[0][a]: Invalid value: "-b": ${LABEL_VALUE_REGEX}`],
    [
      'a>b',
      `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
  ];
  for (const [text, want] of cases)
    assert.equal(
      badRequestMessage(() => parseLabelSelector(text)),
      want,
      text,
    );
});

test('label values longer than 63 bytes are refused', () => {
  const message = badRequestMessage(() => parseLabelSelector(`a=${'x'.repeat(64)}`));
  assert.match(message, /values\[0\]\[a\]: Invalid value: "x+": must be no more than 63 characters$/);
});

test('selector objects convert to the same requirements and the canonical string', () => {
  const cases: [unknown, string][] = [
    [{ matchLabels: { tier: 'gw', app: 'im' } }, 'app=im,tier=gw'],
    [
      { matchLabels: { app: 'im' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['gw', 'db'] }] },
      'app=im,tier in (db,gw)',
    ],
    [
      {
        matchExpressions: [
          { key: 'x', operator: 'Exists' },
          { key: 'y', operator: 'DoesNotExist' },
          { key: 'z', operator: 'NotIn', values: ['a'] },
        ],
      },
      'x,!y,z notin (a)',
    ],
    [{}, ''],
  ];
  for (const [obj, want] of cases) assert.equal(labelSelectorToString(obj), want, JSON.stringify(obj));
  const selector = fromLabelSelectorObject({
    matchLabels: { app: 'im' },
    matchExpressions: [{ key: 'tier', operator: 'In', values: ['gw'] }],
  });
  assert.equal(matchesLabels(selector, { app: 'im', tier: 'gw' }), true);
  assert.equal(matchesLabels(selector, { app: 'im', tier: 'db' }), false);
});

test('a missing selector object matches nothing, an empty one everything', () => {
  assert.equal(matchesLabels(fromLabelSelectorObject(undefined), { a: 'b' }), false);
  assert.equal(matchesLabels(fromLabelSelectorObject({}), { a: 'b' }), true);
});

test('bad selector objects are refused', () => {
  assert.equal(
    badRequestMessage(() => fromLabelSelectorObject({ matchExpressions: [{ key: 'a', operator: 'Near' }] })),
    '"Near" is not a valid label selector operator',
  );
  assert.match(
    badRequestMessage(() => fromLabelSelectorObject({ matchLabels: { 'a/b/c': 'x' } })),
    /^key: Invalid value: "a\/b\/c": a qualified name /,
  );
});

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'im-0', namespace: 'ring' },
  spec: { nodeName: 'n1', restartPolicy: 'Always' },
  status: { phase: 'Running', podIPs: [{ ip: '10.0.0.1' }] },
};
const event: KubeObject = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'e', namespace: 'ring' },
  involvedObject: { kind: 'Pod', name: 'im-0', namespace: 'ring', uid: 'u1' },
  reason: 'Started',
  type: 'Normal',
  source: { component: 'kubelet' },
};

test('field selectors match supported fields per kind', () => {
  const cases: [string, { group: string; plural: string }, KubeObject, boolean][] = [
    ['metadata.name=im-0', { group: '', plural: 'pods' }, pod, true],
    ['metadata.name=im-1', { group: '', plural: 'pods' }, pod, false],
    ['metadata.namespace!=other,status.phase=Running', { group: '', plural: 'pods' }, pod, true],
    ['spec.nodeName==n1,spec.restartPolicy=Always', { group: '', plural: 'pods' }, pod, true],
    ['status.podIP=10.0.0.1', { group: '', plural: 'pods' }, pod, true],
    ['spec.nodeName=', { group: '', plural: 'pods' }, { ...pod, spec: {} }, true],
    [
      'involvedObject.kind=Pod,involvedObject.name=im-0,involvedObject.uid=u1',
      { group: '', plural: 'events' },
      event,
      true,
    ],
    ['reason=Started,type=Normal,source=kubelet', { group: '', plural: 'events' }, event, true],
    ['type=Warning', { group: '', plural: 'events' }, event, false],
    ['type=Opaque', { group: '', plural: 'secrets' }, { metadata: { name: 's' }, type: 'Opaque' }, true],
    ['metadata.name=a\\,b', { group: 'imring.dev', plural: 'imgateways' }, { metadata: { name: 'a,b' } }, true],
    ['', { group: 'imring.dev', plural: 'imgateways' }, { metadata: { name: 'x' } }, true],
  ];
  for (const [text, resource, object, want] of cases) {
    assert.equal(matchesFields(parseFieldSelector(text, resource), object), want, text);
  }
});

test('bad field selectors are refused with the apiserver message', () => {
  const cases: [string, { group: string; plural: string }, string][] = [
    ['foo=bar', { group: '', plural: 'pods' }, 'field label not supported: foo'],
    ['status.phase=Running', { group: '', plural: 'configmaps' }, 'field label not supported: status.phase'],
    ['type=Opaque', { group: '', plural: 'pods' }, 'field label not supported: type'],
    [
      'metadata.name',
      { group: '', plural: 'pods' },
      "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
    ],
    ['metadata.name=a\\b', { group: '', plural: 'pods' }, 'invalid field selector: invalid escape sequence: \\b'],
  ];
  for (const [text, resource, want] of cases)
    assert.equal(
      badRequestMessage(() => parseFieldSelector(text, resource)),
      want,
      text,
    );
});
