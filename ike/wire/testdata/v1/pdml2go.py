# Converts tshark's PDML dissection of ISAKMP packets into the expected
# payload descriptions of v1_knownanswer_data_test.go. It uses only
# tshark's fields (and the payload octets tshark delimits).
#
#   tshark -r main.pcap -Y isakmp -T pdml | python3 pdml2go.py main-01 main-02 ...
import hashlib, sys, xml.etree.ElementTree as ET

def F(el, name):
    return [c for c in el.findall('field') if c.get('name') == name]

def one(el, name, attr='show'):
    fs = F(el, name)
    return fs[0].get(attr) if fs else None

def data(h):
    # data longer than 64 octets is written as its length and a hash
    h = h or ''
    if len(h) > 128:
        return 'len=%d sha256=%s' % (len(h) // 2, hashlib.sha256(bytes.fromhex(h)).hexdigest()[:16])
    return h

def attrs(el, prefix):
    out = ''
    for a in F(el, prefix):
        fmt = one(a, prefix + '.format')
        typ = int(one(a, prefix + '.type'))
        val = one(a, prefix + '.value', 'value') or ''
        out += ' %d%s%s' % (typ, '=' if fmt == '1' else '~', val)
    return out

def body(p):
    return p.get('value')[8:]

def describe(p):
    t = int(p.get('show'))
    if t == 1:
        s = 'SA doi=%s sit=%s' % (int(one(p, 'isakmp.sa.doi')), one(p, 'isakmp.sa.situation', 'value'))
        for prop in F(p, 'isakmp.typepayload'):
            s += '|P%s p=%s spi=%s' % (one(prop, 'isakmp.prop.number'), one(prop, 'isakmp.prop.protoid'),
                                       one(prop, 'isakmp.spi', 'value') or '')
            for tr in F(prop, 'isakmp.typepayload'):
                s += '|T%s id=%s' % (one(tr, 'isakmp.trans.number'), one(tr, 'isakmp.trans.id'))
                s += attrs(tr, 'isakmp.ike.attr') + attrs(tr, 'isakmp.ipsec.attr')
        return s
    if t == 4:
        return 'KE ' + data(one(p, 'isakmp.key_exchange.data', 'value'))
    if t == 5:
        return 'ID t=%s p=%s port=%s %s' % (one(p, 'isakmp.id.type'), one(p, 'isakmp.id.protoid'),
                                           one(p, 'isakmp.id.port'), data(body(p)[8:]))
    if t == 6:
        return 'CERT enc=%s %s' % (one(p, 'isakmp.cert.encoding'), data(body(p)[2:]))
    if t == 7:
        return 'CR t=%s %s' % (one(p, 'isakmp.certreq.type'), data(body(p)[2:]))
    if t == 8:
        return 'HASH ' + data(one(p, 'isakmp.hash', 'value'))
    if t == 9:
        return 'SIG ' + data(one(p, 'isakmp.sig', 'value'))
    if t == 10:
        return 'No ' + data(one(p, 'isakmp.nonce', 'value'))
    if t == 11:
        return 'N doi=%s p=%s spi=%s t=%s %s' % (int(one(p, 'isakmp.notify.doi')), one(p, 'isakmp.notify.protoid'),
                                                one(p, 'isakmp.spi', 'value') or '', one(p, 'isakmp.notify.msgtype'),
                                                data(one(p, 'isakmp.notify.data', 'value')))
    if t == 12:
        return 'D doi=%s p=%s spis=%s' % (int(one(p, 'isakmp.delete.doi')), one(p, 'isakmp.delete.protoid'),
                                         ','.join(f.get('value') for f in F(p, 'isakmp.delete.spi')))
    if t == 13:
        return 'V ' + data(one(p, 'isakmp.vid_bytes', 'value'))
    if t == 14:
        return 'CP t=%s id=%s%s' % (one(p, 'isakmp.cfg.type'), int(one(p, 'isakmp.cfg.identifier')),
                                    attrs(p, 'isakmp.cfg.attr'))
    if t == 20:
        return 'NAT-D ' + data(one(p, 'isakmp.ike.nat_hash', 'value'))
    if t == 132:
        return 'FRAG id=%d n=%s last=%s %s' % (int(one(p, 'isakmp.frag.packetid'), 16), one(p, 'isakmp.frag.seq'),
                                             one(p, 'isakmp.frag.last'), data(body(p)[8:]))
    raise SystemExit('unhandled payload %d' % t)

def entry(name, isa):
    cont = F(isa, 'isakmp.enc.data') or [isa]
    print('\t"%s": {' % name)
    for p in F(cont[0], 'isakmp.typepayload'):
        print('\t\t"%s",' % describe(p))
    print('\t},')

root = ET.parse(sys.stdin).getroot()
names = sys.argv[1:]
for i, pkt in enumerate(root.findall('packet')):
    protos = [pr for pr in pkt.iter('proto') if pr.get('name') == 'isakmp']
    entry(names[i], protos[0])
    if len(protos) > 1:
        # the message reassembled from IKE fragments, decrypted
        entry(names[i] + '.reassembled', protos[-1])
