package wire

// Expected values of the IKEv1 known-answer test, generated from TShark
// 4.0.17's dissection of testdata/v1/main.pcap and aggr.pcap (see
// v1_knownanswer_test.go) and not from this package.

// v1Headers are the header fields of every captured message: tshark's
// isakmp.ispi, isakmp.rspi, the first isakmp.nextpayload,
// isakmp.exchangetype, isakmp.flags, isakmp.messageid and isakmp.length.
var v1Headers = map[string]struct {
	icookie, rcookie string
	next             V1PayloadType
	exchange         V1Exchange
	flags            V1Flags
	msgid            uint32
	length           uint32
}{
	"main-01": {"111b0596d4e1abdc", "0000000000000000", 1, 2, 0x00, 0x00000000, 204},
	"main-02": {"111b0596d4e1abdc", "157f854924115fba", 1, 2, 0x00, 0x00000000, 160},
	"main-03": {"111b0596d4e1abdc", "157f854924115fba", 4, 2, 0x00, 0x00000000, 172},
	"main-04": {"111b0596d4e1abdc", "157f854924115fba", 4, 2, 0x00, 0x00000000, 172},
	"main-05": {"111b0596d4e1abdc", "157f854924115fba", 5, 2, 0x01, 0x00000000, 92},
	"main-06": {"111b0596d4e1abdc", "157f854924115fba", 5, 2, 0x01, 0x00000000, 92},
	"main-07": {"111b0596d4e1abdc", "157f854924115fba", 8, 6, 0x01, 0x3c064b5b, 92},
	"main-08": {"111b0596d4e1abdc", "157f854924115fba", 8, 6, 0x01, 0x3c064b5b, 92},
	"main-09": {"111b0596d4e1abdc", "157f854924115fba", 8, 6, 0x01, 0x45b95abb, 92},
	"main-10": {"111b0596d4e1abdc", "157f854924115fba", 8, 6, 0x01, 0x45b95abb, 92},
	"main-11": {"111b0596d4e1abdc", "157f854924115fba", 8, 6, 0x01, 0x58b97517, 92},
	"main-12": {"111b0596d4e1abdc", "157f854924115fba", 8, 6, 0x01, 0x58b97517, 92},
	"main-13": {"111b0596d4e1abdc", "157f854924115fba", 8, 32, 0x01, 0x307f5699, 220},
	"main-14": {"111b0596d4e1abdc", "157f854924115fba", 8, 32, 0x01, 0x307f5699, 188},
	"main-15": {"111b0596d4e1abdc", "157f854924115fba", 8, 32, 0x01, 0x307f5699, 76},
	"aggr-01": {"460dd780c4c4a0d8", "0000000000000000", 1, 4, 0x00, 0x00000000, 551},
	"aggr-02": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 1, 4, 0x00, 0x00000000, 607},
	"aggr-03": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 4, 0x01, 0x00000000, 140},
	"aggr-04": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 6, 0x01, 0x90e5e4cb, 92},
	"aggr-05": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 6, 0x01, 0x90e5e4cb, 92},
	"aggr-06": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 6, 0x01, 0x0d98818b, 92},
	"aggr-07": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 6, 0x01, 0x0d98818b, 92},
	"aggr-08": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 6, 0x01, 0x5870414a, 108},
	"aggr-09": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 6, 0x01, 0x5870414a, 92},
	"aggr-10": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 32, 0x01, 0xf846b554, 188},
	"aggr-11": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 32, 0x01, 0xf846b554, 188},
	"aggr-12": {"460dd780c4c4a0d8", "9f812a8fb73f292c", 8, 32, 0x01, 0xf846b554, 76},
	"cert-01": {"ab98377e52e0ac7f", "0000000000000000", 1, 2, 0x00, 0x00000000, 204},
	"cert-02": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 1, 2, 0x00, 0x00000000, 160},
	"cert-03": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 4, 2, 0x00, 0x00000000, 172},
	"cert-04": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 4, 2, 0x00, 0x00000000, 243},
	"cert-05": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 132, 2, 0x00, 0x00000000, 1248},
	"cert-06": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 132, 2, 0x00, 0x00000000, 292},
	"cert-07": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 132, 2, 0x00, 0x00000000, 1248},
	"cert-08": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 132, 2, 0x00, 0x00000000, 452},
	"cert-09": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 32, 0x01, 0x1d4429db, 460},
	"cert-10": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 32, 0x01, 0x1d4429db, 460},
	"cert-11": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 32, 0x01, 0x1d4429db, 76},
	"cert-12": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 32, 0x01, 0x778c14f9, 460},
	"cert-13": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 32, 0x01, 0x778c14f9, 460},
	"cert-14": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 32, 0x01, 0x778c14f9, 76},
	"cert-15": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0xe087a7de, 108},
	"cert-16": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0x98e506ce, 108},
	"cert-17": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0xcc329ec9, 108},
	"cert-18": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0x48d781f7, 108},
	"cert-19": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0x81157025, 108},
	"cert-20": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0xcf5fcf54, 108},
	"cert-21": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0xc45483b9, 108},
	"cert-22": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0x81e78a76, 108},
	"cert-23": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0xc2d8c768, 92},
	"cert-24": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0x266a9ac6, 92},
	"cert-25": {"ab98377e52e0ac7f", "0363c00b1e4657ed", 8, 5, 0x01, 0x3eadbbad, 108},
}

// v1Dissections describe the payloads of every captured message, of the
// decrypted body for encrypted ones, as testdata/v1/pdml2go.py writes them
// from tshark's PDML: "SA doi= sit=" with "|P<n> p=<protocol> spi=" and
// "|T<n> id=" and " <type>=<TV value>" or " <type>~<TLV value>" per
// attribute; "KE", "No", "HASH", "V" and "NAT-D" with their data;
// "ID t=<type> p=<protocol> port=" and the identification data;
// "CP t=<type> id=<identifier>" and the attributes.
var v1Dissections = map[string][]string{
	"main-01": {
		"SA doi=1 sit=00000001|P1 p=1 spi=|T1 id=1 1=0007 14=0080 2=0004 4=001f 3=fde9 11=0001 12=3de0|T2 id=1 4=001f 3=fde9 11=0001 12=3de0",
		"V 09002689dfd6b712",
		"V afcad71368a1f1c96b8696fc77570100",
		"V 4048b7d56ebce88525e7de7f00d6c2d380000000",
		"V 4a131c81070358455c5728f20e95452f",
		"V 90cb80913ebb696e086381b5ec427b1f",
	},
	"main-02": {
		"SA doi=1 sit=00000001|P1 p=1 spi=|T1 id=1 1=0007 14=0080 2=0004 4=001f 3=fde9 11=0001 12=3de0",
		"V 09002689dfd6b712",
		"V afcad71368a1f1c96b8696fc77570100",
		"V 4048b7d56ebce88525e7de7f00d6c2d380000000",
		"V 4a131c81070358455c5728f20e95452f",
	},
	"main-03": {
		"KE 7d107d3309aec9f6834813df765679d802e2ceb785f52722a5e233a7e89e920b",
		"No c4f3ac0057b2c80b4faf8d203a5a2b4749c8eb632ed503c52037a14e68269bc1",
		"NAT-D d8f30cfc2d9b30d8c76645d04966bc959d98d88a9cbb955e57646eadd4d0e513",
		"NAT-D a70c6e214dd2099565d2edce3d80c47d0aca51fa7f066b4efa10e20ff3e3b404",
	},
	"main-04": {
		"KE 6783f7f3994d0c2636eb7906ed7300ea87f78fea1be39fd53aeb43d88321260f",
		"No ae13580e8b5c1b3390a89445f1989b8beee770b5edf50ec2e8d8b0b18f58ff15",
		"NAT-D 19af11cfccc489c254e5c0030284f74bd46bdda9469166c5a689b4dcf810a4a3",
		"NAT-D 760e7dc85df6ee3826512bfde5936787355594fb9067db5448e8d110bb7a8eea",
	},
	"main-05": {
		"ID t=1 p=0 port=0 c6336401",
		"HASH ee115384f18a45a36213d26e94c5ce3b3f1c9cb513f16f970e2575a23157602a",
	},
	"main-06": {
		"ID t=1 p=0 port=0 c6336402",
		"HASH 0169525597636e9c95d32b1f04d19eacaac575a0078e6752fafc1e8eefe7be5c",
	},
	"main-07": {
		"HASH dec1ca98bf624d6285b80ef113232b9532c6b02857bb25b5e58fed5764b719ce",
		"CP t=1 id=0 16521~ 16522~",
	},
	"main-08": {
		"HASH 7ebb50379e6b2f8be3d5c6ca291ce07e491448dc3629dbbd974b8940e8d4fe8a",
		"CP t=2 id=0 16521~626f62 16522~626f622d70617373",
	},
	"main-09": {
		"HASH 82ffc1de55d4fae938a8c21a4a6d11e08faa121dcdc4a2f00d2cc0d4a7f9663f",
		"CP t=3 id=0 16527=0001",
	},
	"main-10": {
		"HASH f36ac0d576cf724db8f02a7e501cf8d8be80d1c40261bb71a807da6cb6c03369",
		"CP t=4 id=0 16527~",
	},
	"main-11": {
		"HASH 3c7153afd98158069c24db76376474b69137b9782d3f1f02ee886115e26c50a3",
		"CP t=1 id=0 1~",
	},
	"main-12": {
		"HASH 6894ba897d7130ea0377c58c5bd842e24ed8acc20226c9adcd8cb521645326f5",
		"CP t=2 id=0 1~c612c801 3~c6336435",
	},
	"main-13": {
		"HASH 3a52a5f58fa24f0488c637459c2521c4a3c7a733a878dc827704cef240a07fac",
		"SA doi=1 sit=00000001|P1 p=3 spi=25d4b260|T1 id=12 6=0100 5=0005 4=0003 1=0001 2=0f78|T2 id=12 6=0100 5=0002 4=0003 1=0001 2=0f78",
		"No c585197c201b65f2d93909c60bb22b3c2bc627b447faa61e0f9e475f70f69d9b",
		"ID t=1 p=0 port=0 c612c801",
		"ID t=4 p=0 port=0 cb007100ffffffc0",
	},
	"main-14": {
		"HASH 045f9fa6b5fd29743edf590b125d3f7072084747f17916527c292a7368f18c8d",
		"SA doi=1 sit=00000001|P1 p=3 spi=247a5f13|T1 id=12 6=0100 5=0005 4=0003 1=0001 2=0f78",
		"No ce8f100b158977e4c1350ef00aaf470743656ee6f4b97545a08168473dde8501",
		"ID t=1 p=0 port=0 c612c801",
		"ID t=4 p=0 port=0 cb007100ffffffc0",
	},
	"main-15": {
		"HASH 89b9cfd4a3c246a7772f095e4457803bb4cdfac883310052cd943a0cb6806373",
	},
	"aggr-01": {
		"SA doi=1 sit=00000001|P1 p=1 spi=|T1 id=1 1=0007 14=0100 2=0004 4=000e 3=fde9 11=0001 12=3de0|T2 id=1 1=0007 14=0100 2=0002 4=000e 3=fde9 11=0001 12=3de0",
		"KE len=256 sha256=a5989ece7244a0fa",
		"No b002be23757b705b96a629deb752569b1bf63dba83a0a53149dbaae9d2c07283",
		"ID t=11 p=0 port=0 696b65676f2d67726f7570",
		"V 09002689dfd6b712",
		"V afcad71368a1f1c96b8696fc77570100",
		"V 12f5f28c457168a9702d9fe274cc0100",
		"V 4048b7d56ebce88525e7de7f00d6c2d380000000",
		"V 4a131c81070358455c5728f20e95452f",
		"V 90cb80913ebb696e086381b5ec427b1f",
	},
	"aggr-02": {
		"SA doi=1 sit=00000001|P1 p=1 spi=|T1 id=1 1=0007 14=0100 2=0004 4=000e 3=fde9 11=0001 12=3de0",
		"KE len=256 sha256=3c059045cb0684a5",
		"No 511aae949400268e6e7292bbef6d1745932eaccade46e78b9ef39fdf530fcecc",
		"ID t=2 p=0 port=0 76706e2e6578616d706c652e636f6d",
		"V 09002689dfd6b712",
		"V afcad71368a1f1c96b8696fc77570100",
		"V 12f5f28c457168a9702d9fe274cc0100",
		"V 4048b7d56ebce88525e7de7f00d6c2d380000000",
		"V 4a131c81070358455c5728f20e95452f",
		"NAT-D aef58c6b0a1c377ea42ee3b2ea4c0dbed5b22c3424622cbfc1f33cb929fe05eb",
		"NAT-D 90829e0cea1914ca680e671e2542ae8a15ed6996c43b4210116c0124f99a02d4",
		"HASH a4ed18324ef20ec074b26b44fca57775732bc50d10248d47aee8a36d52a5ce1a",
	},
	"aggr-03": {
		"HASH 164d8e3b6d54352e72f4429f9f60848f0dabbc91b74210833724e45e50512431",
		"NAT-D 3bd04f21b342652edac36174a32095642c5b3edc8b7d8d2d65001b11c1688522",
		"NAT-D ec0f1c437e1e1e4c1a30a483075c9148acb0fc39ddc8087f8ea5d4bde762ac61",
	},
	"aggr-04": {
		"HASH 615c73ecbf1fc699028f1438ecc13eac516bc28f88e5aa2f8b96341728d80f7c",
		"CP t=1 id=0 16521~ 16522~",
	},
	"aggr-05": {
		"HASH 999a025cb8c14001fe51591097fe35a118af22dda12e95b37a17013a89a4c2b7",
		"CP t=2 id=0 16521~626f62 16522~626f622d70617373",
	},
	"aggr-06": {
		"HASH dde3ba01da5659e4c136c34f40363a37aae7cb0398e003f06efe279c024aefe0",
		"CP t=3 id=0 16527=0001",
	},
	"aggr-07": {
		"HASH c1a450a169ed4ed7f0cedf991cc8f638de484c6a417e48c457dee4d669539081",
		"CP t=4 id=0 16527~",
	},
	"aggr-08": {
		"HASH 24b4ec1e4e806fbf0234891b4a8c044a739f29d15a58fc3ca0714e637a59d87d",
		"CP t=3 id=0 1~c612c801 3~c6336435 28676~cb007100ffffffc0000000000000",
	},
	"aggr-09": {
		"HASH af7fa2f6f5cc5bdfc79b526ba098ac346ee09b7947b158b7c3c247f977b2a99d",
		"CP t=4 id=0 1~",
	},
	"aggr-10": {
		"HASH ad01d3191905e969e8edbc113c4b037b235015e1f814ba9bbb4397d50b303ec8",
		"SA doi=1 sit=00000001|P1 p=3 spi=6ec90d8f|T1 id=12 6=0100 5=0002 4=0003 1=0001 2=0f78",
		"No b88718323ccd905ae24212b044b97e6f318f8ad4995a8058a27d1a4ffb49426f",
		"ID t=1 p=0 port=0 c612c801",
		"ID t=4 p=0 port=0 0000000000000000",
	},
	"aggr-11": {
		"HASH 1d51740485b3fc08a2685ea5149d84da3ea037be6f4c42cfd11435c974d04a6b",
		"SA doi=1 sit=00000001|P1 p=3 spi=a96c0bb2|T1 id=12 6=0100 5=0002 4=0003 1=0001 2=0f78",
		"No b0e5ac275c419823a244ea66f01fec99f786ef6d7575fbfb09c3ddb09cd8defc",
		"ID t=1 p=0 port=0 c612c801",
		"ID t=4 p=0 port=0 0000000000000000",
	},
	"aggr-12": {
		"HASH d4d43fd4d0936dc577e631666289abda6bf2ca6f6a4c70e271e377da72e75cea",
	},
	"cert-01": {
		"SA doi=1 sit=00000001|P1 p=1 spi=|T1 id=1 1=0007 14=0080 2=0004 4=001f 3=0003 11=0001 12=3de0|T2 id=1 4=001f 3=0003 11=0001 12=3de0",
		"V 09002689dfd6b712",
		"V afcad71368a1f1c96b8696fc77570100",
		"V 4048b7d56ebce88525e7de7f00d6c2d380000000",
		"V 4a131c81070358455c5728f20e95452f",
		"V 90cb80913ebb696e086381b5ec427b1f",
	},
	"cert-02": {
		"SA doi=1 sit=00000001|P1 p=1 spi=|T1 id=1 1=0007 14=0080 2=0004 4=001f 3=0003 11=0001 12=3de0",
		"V 09002689dfd6b712",
		"V afcad71368a1f1c96b8696fc77570100",
		"V 4048b7d56ebce88525e7de7f00d6c2d380000000",
		"V 4a131c81070358455c5728f20e95452f",
	},
	"cert-03": {
		"KE 3805fbb3aa15eef71e304acbe9f492f2f3183c9d1b94587e8f132b04f481f60c",
		"No b7028c8c183fcd2be263aac71cf700e5910945c674be7fd4f02827f283819695",
		"NAT-D 805386b9e7d3b171c904631815bd8a29bec5441169d0a8de6e091adf1bfd0793",
		"NAT-D 7b045209a637439d12210f757466b3f813be50d625039c2aeef43bd98bc0c665",
	},
	"cert-04": {
		"KE f32088b92e49881a0d9b856fe5aedc7cf9360407efefed4fb41b057419dad269",
		"No 00d24866540a6944e604c972d5899e2740208f820f02f25a9fee0cb7e3548c92",
		"CR t=4 len=66 sha256=e636539638d47537",
		"NAT-D 733841708efb142b0bc0331979012a576e4ed7dcd816d3d0803bd08c7cdb646b",
		"NAT-D c9552391dea7084e8a69f9d837d3f329b1e0bb9af654586a842994f963c6ae3e",
	},
	"cert-05": {
		"FRAG id=1 n=1 last=0 len=1212 sha256=6cb5606a5dfd4d05",
	},
	"cert-06": {
		"FRAG id=1 n=2 last=1 len=256 sha256=e434ac6ce86e0234",
	},
	"cert-06.reassembled": {
		"ID t=9 p=0 port=0 len=69 sha256=42b1b9994879b16d",
		"CERT enc=4 len=993 sha256=cd9635750078c884",
		"SIG len=256 sha256=48e321ee8e864d60",
		"CR t=4 len=66 sha256=e636539638d47537",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=24578 ",
	},
	"cert-07": {
		"FRAG id=1 n=1 last=0 len=1212 sha256=dd3f377d3c1129ee",
	},
	"cert-08": {
		"FRAG id=1 n=2 last=1 len=416 sha256=15d5cdd532a97194",
	},
	"cert-08.reassembled": {
		"ID t=9 p=0 port=0 len=65 sha256=6adfa22c1d046531",
		"CERT enc=4 len=1129 sha256=ad8e2234be5550c6",
		"SIG len=384 sha256=f085b6324fcc941f",
	},
	"cert-09": {
		"HASH f7cb962798cda4381c3aca0f1266a0b57a445c6fd8169bf6f2e3e3bfb1dd4eee",
		"SA doi=1 sit=00000001|P1 p=3 spi=b41a8c72|T1 id=12 6=0100 5=0005 3=000e 4=0003 1=0001 2=0f78",
		"No 7f4722efb5c2c74bab933303060fe526881bf4cc627660578ea837e090a9173a",
		"KE len=256 sha256=c0c3f1a0735477cf",
		"ID t=4 p=0 port=0 c6120200ffffff00",
		"ID t=4 p=0 port=0 cb007100ffffffc0",
	},
	"cert-10": {
		"HASH 8e8aff3f9edf4c3be517e0e8ab1a453d11a6ff033fc5b47970ed642ce3a99d84",
		"SA doi=1 sit=00000001|P1 p=3 spi=b7e2c53c|T1 id=12 6=0100 5=0005 3=000e 4=0003 1=0001 2=0f78",
		"No 58de8a8c6fea73cbac2cf379b2a555978b5efc370b488d7bc33b6ccc6f807536",
		"KE len=256 sha256=545302a96e38d9c1",
		"ID t=4 p=0 port=0 c6120200ffffff00",
		"ID t=4 p=0 port=0 cb007100ffffffc0",
	},
	"cert-11": {
		"HASH 064e4104330b50169bd54822543a007be435c55b8abf27c4d63bc645f83f3e82",
	},
	"cert-12": {
		"HASH d16bb313f927c7c1c2f093f07924c6394fde4d80a33a57a0c274659baee2f529",
		"SA doi=1 sit=00000001|P1 p=3 spi=360a4383|T1 id=12 6=0100 5=0002 3=000e 4=0003 1=0001 2=0f78",
		"No d7ddb013bb953cb51b80ba55876ce059a84bdca57ff9e66d7ea9851361ea2eac",
		"KE len=256 sha256=79aa2b75bff3995f",
		"ID t=4 p=0 port=0 c6120200ffffff00",
		"ID t=4 p=0 port=0 c6120100ffffff00",
	},
	"cert-13": {
		"HASH 0086cab5b7f823ac8835692aff2a4eed550e3ef24475570f6ea0cb7f9b8b7abc",
		"SA doi=1 sit=00000001|P1 p=3 spi=384c93d6|T1 id=12 6=0100 5=0002 3=000e 4=0003 1=0001 2=0f78",
		"No d19ff84a960cccf87abac16f4065fff04a0929aed8cbf3391ac98342f8da6bd5",
		"KE len=256 sha256=6e082f0a67ef91ae",
		"ID t=4 p=0 port=0 c6120200ffffff00",
		"ID t=4 p=0 port=0 c6120100ffffff00",
	},
	"cert-14": {
		"HASH 1815b15df440d2e7b38f21425c82e8420f4f688660545a3a8fad227752140b86",
	},
	"cert-15": {
		"HASH a8cad33a3f453a8a799e113bc515f00d204d512af3be1c713a91b62a2207cacc",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36136 564f38e3",
	},
	"cert-16": {
		"HASH 6f8844dcbed4d7606cca3e7bf9a93541bccc1a0a0b98e111e841e07e6a07fcc4",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36137 564f38e3",
	},
	"cert-17": {
		"HASH 5beac497cf3b06844494ab82d5fb8701cd4b5263232dcdd02d325b62826051d5",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36136 2ee21c95",
	},
	"cert-18": {
		"HASH f82e32cdfedaccd59ca5687776a02734a21382efad75052fdf50d59baa922653",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36137 2ee21c95",
	},
	"cert-19": {
		"HASH 100c9aee1c8e0b0b7ed6c5039baf9c3bf0cc5e2dfbcdf3b184166e53ec7dfd42",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36136 2ee21c96",
	},
	"cert-20": {
		"HASH 88fbb8ccf253e5fc5bec6d5ac55b0c4407724f7bc26035ef2accbf7c89039ae7",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36137 2ee21c96",
	},
	"cert-21": {
		"HASH cae3adfdc8033524209134772f1e3dec2171f0ca4b80553245be118a311c3501",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36136 2ee21c97",
	},
	"cert-22": {
		"HASH 5814ecddd65c2bd4011daed8162df8b5d3a84fadacf126eda224d99ccb69bee3",
		"N doi=1 p=1 spi=ab98377e52e0ac7f0363c00b1e4657ed t=36137 2ee21c97",
	},
	"cert-23": {
		"HASH 0044133a6c1ebcecf949488f2446e9f94a0c939710d08f406331adadcf57e5e4",
		"D doi=1 p=3 spis=b41a8c72",
	},
	"cert-24": {
		"HASH 9ebe89ad6e63079b7790b8c2b183f46298265f41559f34667cd8ea5b0d88a136",
		"D doi=1 p=3 spis=360a4383",
	},
	"cert-25": {
		"HASH b25c3b18708189de16530473312d33066733b725332f844b63c8797cdd114143",
		"D doi=1 p=1 spis=ab98377e52e0ac7f0363c00b1e4657ed",
	},
}
