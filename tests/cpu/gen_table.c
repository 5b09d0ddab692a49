/* The instruction templates.  Flag columns follow the SDM's "Flags
 * Affected" sections: fw = flags the instruction writes, fu = the subset it
 * leaves undefined (masked out of the comparison until redefined). */
#include <Zydis/Zydis.h>

#include "accel/soft/cpu.h"
#include "gen.h"

#define A   FL_ARITH
#define CF  FL_CF
#define PF  FL_PF
#define AF  FL_AF
#define ZF  FL_ZF
#define SF  FL_SF
#define OF  FL_OF

#define T(n, ops, sz, k, tf, aux, fr, fw, fu) \
	{ #n, ZYDIS_MNEMONIC_##n, ops, sz, k, tf, aux, fr, fw, fu, false, 0 }
/* plain: no flags */
#define P(n, ops, sz) T(n, ops, sz, K_NORMAL, 0, 0, 0, 0, 0)
#define SSE(n, ops) T(n, ops, 0, K_NORMAL, TF_SSE, 0, 0, 0, 0)

static const uint16_t cc_read[16] = {
	OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF,
	SF, SF, PF, PF, SF | OF, SF | OF, ZF | SF | OF, ZF | SF | OF,
};

uint16_t dt_cc_flags(unsigned cc)
{
	return cc_read[cc & 15];
}

#define CMOV(n, cc) T(n, "r,E", SWDQ, K_NORMAL, 0, cc, cc_read[cc], 0, 0)
#define SETCC(n, cc) T(n, "e1", 0, K_NORMAL, 0, cc, cc_read[cc], 0, 0)
#define JCC(n, cc) T(n, "", 0, K_JCC, 0, cc, cc_read[cc], 0, 0), \
		   T(n, "", 0, K_JCC, 0, (cc) | 0x10, cc_read[cc], 0, 0)
#define ALU(n, fr) T(n, "e,R", SALL, K_NORMAL, TF_LOCK, 0, fr, A, 0), \
		   T(n, "r,E", SALL, K_NORMAL, 0, 0, fr, A, 0), \
		   T(n, "e,i", SALL, K_NORMAL, TF_LOCK, 0, fr, A, 0)
#define LOGIC(n) T(n, "e,R", SALL, K_NORMAL, TF_LOCK, 0, 0, A, AF), \
		 T(n, "r,E", SALL, K_NORMAL, 0, 0, 0, A, AF), \
		 T(n, "e,i", SALL, K_NORMAL, TF_LOCK, 0, 0, A, AF)
#define STR(n, mn, op, sz, tf) \
	{ #n, mn, "", sz, K_STR, tf, op, 0, 0, 0, false, 0 }

struct tmpl dt_tmpl[] = {
	/* pseudo templates used by the engine (must stay first) */
	{ "(setup)", 0, "", 0, K_SETUP, 0, 0, 0, 0, 0, false, 0 },
	{ "(flagdef)", ZYDIS_MNEMONIC_CMP, "", 0, K_FLAGDEF, 0, 0, 0, A, 0, false, 0 },

	/* ---- integer arithmetic and logic ---- */
	ALU(ADD, 0), ALU(ADC, CF), ALU(SUB, 0), ALU(SBB, CF),
	LOGIC(AND), LOGIC(OR), LOGIC(XOR),
	T(CMP, "E,R", SALL, K_NORMAL, 0, 0, 0, A, 0),
	T(CMP, "R,E", SALL, K_NORMAL, 0, 0, 0, A, 0),
	T(CMP, "E,i", SALL, K_NORMAL, 0, 0, 0, A, 0),
	T(TEST, "E,R", SALL, K_NORMAL, 0, 0, 0, A, AF),
	T(TEST, "E,i", SALL, K_NORMAL, 0, 0, 0, A, AF),
	T(INC, "e", SALL, K_NORMAL, TF_LOCK, 0, 0, A & ~CF, 0),
	T(DEC, "e", SALL, K_NORMAL, TF_LOCK, 0, 0, A & ~CF, 0),
	T(NEG, "e", SALL, K_NORMAL, TF_LOCK, 0, 0, A, 0),
	T(NOT, "e", SALL, K_NORMAL, TF_LOCK, 0, 0, 0, 0),
	T(MUL, "E", SALL, K_NORMAL, 0, 0, 0, A, SF | ZF | AF | PF),
	T(IMUL, "E", SALL, K_NORMAL, 0, 0, 0, A, SF | ZF | AF | PF),
	T(IMUL, "r,E", SWDQ, K_NORMAL, 0, 0, 0, A, SF | ZF | AF | PF),
	T(IMUL, "r,E,i", SWDQ, K_NORMAL, 0, 0, 0, A, SF | ZF | AF | PF),
	T(DIV, "E", SALL, K_DIV, 0, 0, 0, A, A),
	T(IDIV, "E", SALL, K_DIV, 0, 0, 0, A, A),
	T(XADD, "e,r", SALL, K_NORMAL, TF_LOCK, 0, 0, A, 0),
	T(CMPXCHG, "e,R", SALL, K_NORMAL, TF_LOCK, 0, 0, A, 0),
	T(CMPXCHG8B, "M8", 0, K_NORMAL, TF_LOCK, 0, 0, ZF, 0),
	T(CMPXCHG16B, "M16", 0, K_NORMAL, TF_LOCK | TF_SSE, 0, 0, ZF, 0),

	/* ---- shifts and rotates (count chosen by the engine) ---- */
	T(SHL, "e,b", SALL, K_SHIFT, 0, 0, 0, 0, 0), T(SHL, "e,c", SALL, K_SHIFT, 0, 0, 0, 0, 0),
	T(SHR, "e,b", SALL, K_SHIFT, 0, 0, 0, 0, 0), T(SHR, "e,c", SALL, K_SHIFT, 0, 0, 0, 0, 0),
	T(SAR, "e,b", SALL, K_SHIFT, 0, 1, 0, 0, 0), T(SAR, "e,c", SALL, K_SHIFT, 0, 1, 0, 0, 0),
	T(ROL, "e,b", SALL, K_ROT, 0, 0, 0, 0, 0), T(ROL, "e,c", SALL, K_ROT, 0, 0, 0, 0, 0),
	T(ROR, "e,b", SALL, K_ROT, 0, 0, 0, 0, 0), T(ROR, "e,c", SALL, K_ROT, 0, 0, 0, 0, 0),
	T(RCL, "e,b", SALL, K_RCX, 0, 0, CF, 0, 0), T(RCL, "e,c", SALL, K_RCX, 0, 0, CF, 0, 0),
	T(RCR, "e,b", SALL, K_RCX, 0, 0, CF, 0, 0), T(RCR, "e,c", SALL, K_RCX, 0, 0, CF, 0, 0),
	T(SHLD, "e,R,b", SWDQ, K_SHXD, 0, 0, 0, 0, 0), T(SHLD, "e,R,c", SWDQ, K_SHXD, 0, 0, 0, 0, 0),
	T(SHRD, "e,R,b", SWDQ, K_SHXD, 0, 0, 0, 0, 0), T(SHRD, "e,R,c", SWDQ, K_SHXD, 0, 0, 0, 0, 0),

	/* ---- bits ---- */
	T(BT, "E,b", SWDQ, K_NORMAL, 0, 0, 0, CF | OF | SF | AF | PF, OF | SF | AF | PF),
	T(BT, "R,R", SWDQ, K_NORMAL, 0, 0, 0, CF | OF | SF | AF | PF, OF | SF | AF | PF),
	T(BT, "m,k", SWDQ, K_NORMAL, 0, 0, 0, CF | OF | SF | AF | PF, OF | SF | AF | PF),
#define BTX(n) T(n, "e,b", SWDQ, K_NORMAL, TF_LOCK, 0, 0, CF | OF | SF | AF | PF, OF | SF | AF | PF), \
	       T(n, "r,R", SWDQ, K_NORMAL, 0, 0, 0, CF | OF | SF | AF | PF, OF | SF | AF | PF), \
	       T(n, "m,k", SWDQ, K_NORMAL, TF_LOCK, 0, 0, CF | OF | SF | AF | PF, OF | SF | AF | PF)
	BTX(BTS), BTX(BTR), BTX(BTC),
	T(BSF, "r,E", SWDQ, K_NORMAL, 0, 0, 0, A, CF | OF | SF | AF | PF),
	T(BSR, "r,E", SWDQ, K_NORMAL, 0, 0, 0, A, CF | OF | SF | AF | PF),
	T(POPCNT, "r,E", SWDQ, K_NORMAL, 0, 0, 0, A, 0),
	/* No LZCNT/TZCNT: the soft CPU advertises neither ABM nor BMI1, so
	 * F3 0F BC/BD are BSF/BSR there, unlike on this host. */
	P(BSWAP, "r", S32 | S64),

	/* ---- data movement ---- */
	P(MOV, "e,R", SALL), P(MOV, "r,E", SALL), P(MOV, "e,i", SALL), P(MOV, "r,I", S64),
	P(MOVZX, "r,E1", SWDQ), P(MOVZX, "r,E2", S32 | S64),
	P(MOVSX, "r,E1", SWDQ), P(MOVSX, "r,E2", S32 | S64),
	P(MOVSXD, "r,E4", S64),
	P(MOVBE, "r,m", SWDQ), P(MOVBE, "m,R", SWDQ),
	P(MOVNTI, "m,R", S32 | S64),
	P(XCHG, "e,r", SALL), P(XCHG, "r,r", SWDQ),
	P(LEA, "r,L", SWDQ),
	P(CBW, "", 0), P(CWDE, "", 0), P(CDQE, "", 0),
	P(CWD, "", 0), P(CDQ, "", 0), P(CQO, "", 0),
	CMOV(CMOVO, 0), CMOV(CMOVNO, 1), CMOV(CMOVB, 2), CMOV(CMOVNB, 3),
	CMOV(CMOVZ, 4), CMOV(CMOVNZ, 5), CMOV(CMOVBE, 6), CMOV(CMOVNBE, 7),
	CMOV(CMOVS, 8), CMOV(CMOVNS, 9), CMOV(CMOVP, 10), CMOV(CMOVNP, 11),
	CMOV(CMOVL, 12), CMOV(CMOVNL, 13), CMOV(CMOVLE, 14), CMOV(CMOVNLE, 15),
	SETCC(SETO, 0), SETCC(SETNO, 1), SETCC(SETB, 2), SETCC(SETNB, 3),
	SETCC(SETZ, 4), SETCC(SETNZ, 5), SETCC(SETBE, 6), SETCC(SETNBE, 7),
	SETCC(SETS, 8), SETCC(SETNS, 9), SETCC(SETP, 10), SETCC(SETNP, 11),
	SETCC(SETL, 12), SETCC(SETNL, 13), SETCC(SETLE, 14), SETCC(SETNLE, 15),
	T(PUSH, "R8", 0, K_PUSH, 0, 0, 0, 0, 0), T(PUSH, "M8", 0, K_PUSH, 0, 0, 0, 0, 0),
	T(PUSH, "i4", 0, K_PUSH, 0, 0, 0, 0, 0),
	T(POP, "r8", 0, K_POP, 0, 0, 0, 0, 0), T(POP, "M8", 0, K_POP, 0, 0, 0, 0, 0),
	T(PUSHFQ, "", 0, K_PUSH, 0, 0, A, 0, 0),
	T(POPFQ, "", 0, K_POP, 0, 0, 0, A, 0),
	T(LAHF, "", 0, K_NORMAL, 0, 0, SF | ZF | AF | PF | CF, 0, 0),
	T(SAHF, "", 0, K_NORMAL, 0, 0, 0, SF | ZF | AF | PF | CF, 0),
	T(CLC, "", 0, K_NORMAL, 0, 0, 0, CF, 0),
	T(STC, "", 0, K_NORMAL, 0, 0, 0, CF, 0),
	T(CMC, "", 0, K_NORMAL, 0, 0, CF, CF, 0),
	P(CLD, "", 0), P(STD, "", 0),
	P(NOP, "", 0),

	/* ---- control flow inside the sequence ---- */
	JCC(JO, 0), JCC(JNO, 1), JCC(JB, 2), JCC(JNB, 3), JCC(JZ, 4), JCC(JNZ, 5),
	JCC(JBE, 6), JCC(JNBE, 7), JCC(JS, 8), JCC(JNS, 9), JCC(JP, 10), JCC(JNP, 11),
	JCC(JL, 12), JCC(JNL, 13), JCC(JLE, 14), JCC(JNLE, 15),
	T(JMP, "", 0, K_JMP, 0, 0, 0, 0, 0), T(JMP, "", 0, K_JMP, 0, 1, 0, 0, 0),
	T(CALL, "", 0, K_CALL, 0, 0, 0, 0, 0),
	T(RET, "", 0, K_RET, 0, 0, 0, 0, 0),
	T(LOOP, "", 0, K_LOOP, 0, 0xe2, 0, 0, 0),
	T(LOOPE, "", 0, K_LOOP, 0, 0xe1, ZF, 0, 0),
	T(LOOPNE, "", 0, K_LOOP, 0, 0xe0, ZF, 0, 0),
	T(JRCXZ, "", 0, K_LOOP, 0, 0xe3, 0, 0, 0),
	T(ENTER, "", 0, K_ENTER, 0, 0, 0, 0, 0),

	/* ---- strings (aux = opcode; sizes = element size) ---- */
	STR(MOVSB, ZYDIS_MNEMONIC_MOVSB, 0xa4, S8, TF_REP),
	STR(MOVSW, ZYDIS_MNEMONIC_MOVSW, 0xa5, S16, TF_REP),
	STR(MOVSD, SOFT_MNEM_MOVSD_STR, 0xa5, S32, TF_REP),
	STR(MOVSQ, ZYDIS_MNEMONIC_MOVSQ, 0xa5, S64, TF_REP),
	STR(STOSB, ZYDIS_MNEMONIC_STOSB, 0xaa, S8, TF_REP),
	STR(STOSW, ZYDIS_MNEMONIC_STOSW, 0xab, S16, TF_REP),
	STR(STOSD, ZYDIS_MNEMONIC_STOSD, 0xab, S32, TF_REP),
	STR(STOSQ, ZYDIS_MNEMONIC_STOSQ, 0xab, S64, TF_REP),
	STR(LODSB, ZYDIS_MNEMONIC_LODSB, 0xac, S8, TF_REP),
	STR(LODSW, ZYDIS_MNEMONIC_LODSW, 0xad, S16, TF_REP),
	STR(LODSD, ZYDIS_MNEMONIC_LODSD, 0xad, S32, TF_REP),
	STR(LODSQ, ZYDIS_MNEMONIC_LODSQ, 0xad, S64, TF_REP),
	STR(CMPSB, ZYDIS_MNEMONIC_CMPSB, 0xa6, S8, TF_REPCC),
	STR(CMPSW, ZYDIS_MNEMONIC_CMPSW, 0xa7, S16, TF_REPCC),
	STR(CMPSD, SOFT_MNEM_CMPSD_STR, 0xa7, S32, TF_REPCC),
	STR(CMPSQ, ZYDIS_MNEMONIC_CMPSQ, 0xa7, S64, TF_REPCC),
	STR(SCASB, ZYDIS_MNEMONIC_SCASB, 0xae, S8, TF_REPCC),
	STR(SCASW, ZYDIS_MNEMONIC_SCASW, 0xaf, S16, TF_REPCC),
	STR(SCASD, ZYDIS_MNEMONIC_SCASD, 0xaf, S32, TF_REPCC),
	STR(SCASQ, ZYDIS_MNEMONIC_SCASQ, 0xaf, S64, TF_REPCC),

	/* ---- misc ---- */
	P(LFENCE, "", 0), P(MFENCE, "", 0), P(SFENCE, "", 0), P(PAUSE, "", 0),
	P(ENDBR64, "", 0),
	P(CLFLUSH, "M64", 0), P(CLFLUSHOPT, "M64", 0), P(PREFETCH, "M1", 0),
	T(XLAT, "", 0, K_XLAT, 0, 0, 0, 0, 0),
	P(PREFETCHNTA, "M1", 0), P(PREFETCHT0, "M1", 0), P(PREFETCHT1, "M1", 0),
	P(PREFETCHT2, "M1", 0), P(PREFETCHW, "M1", 0),

	/* ---- SSE/SSE2 moves ---- */
	SSE(MOVAPS, "x,X"), SSE(MOVAPS, "M16,x"), SSE(MOVAPD, "x,X"), SSE(MOVAPD, "M16,x"),
	SSE(MOVDQA, "x,X"), SSE(MOVDQA, "M16,x"),
	SSE(MOVUPS, "x,U"), SSE(MOVUPS, "U,x"), SSE(MOVUPD, "x,U"), SSE(MOVUPD, "U,x"),
	SSE(MOVDQU, "x,U"), SSE(MOVDQU, "U,x"),
	SSE(MOVSS, "x,x"), SSE(MOVSS, "x,M4"), SSE(MOVSS, "M4,x"),
	SSE(MOVSD, "x,x"), SSE(MOVSD, "x,M8"), SSE(MOVSD, "M8,x"),
	SSE(MOVLPS, "x,M8"), SSE(MOVLPS, "M8,x"), SSE(MOVHPS, "x,M8"), SSE(MOVHPS, "M8,x"),
	SSE(MOVLPD, "x,M8"), SSE(MOVLPD, "M8,x"), SSE(MOVHPD, "x,M8"), SSE(MOVHPD, "M8,x"),
	SSE(MOVHLPS, "x,x"), SSE(MOVLHPS, "x,x"),
	SSE(MOVD, "x,E4"), SSE(MOVD, "e4,x"), SSE(MOVQ, "x,E8"), SSE(MOVQ, "e8,x"),
	SSE(MOVQ, "x,X8"), SSE(MOVQ, "M8,x"),
	SSE(MOVMSKPS, "r4,x"), SSE(MOVMSKPD, "r4,x"), SSE(PMOVMSKB, "r4,x"),
	SSE(MOVNTPS, "M16,x"), SSE(MOVNTPD, "M16,x"), SSE(MOVNTDQ, "M16,x"),
	T(MASKMOVDQU, "", 0, K_MASKMOV, 0, 0, 0, 0, 0),
	T(LDMXCSR, "", 0, K_LDMXCSR, 0, 0, 0, 0, 0),
	SSE(STMXCSR, "M4"),

	/* ---- SSE/SSE2 floating point ---- */
#define FP4(n) SSE(n##PS, "x,X"), SSE(n##PD, "x,X"), SSE(n##SS, "x,X4"), SSE(n##SD, "x,X8")
	FP4(ADD), FP4(SUB), FP4(MUL), FP4(DIV), FP4(MIN), FP4(MAX), FP4(SQRT),
	SSE(RCPPS, "x,X"), SSE(RCPSS, "x,X4"), SSE(RSQRTPS, "x,X"), SSE(RSQRTSS, "x,X4"),
	SSE(CMPPS, "x,X,b"), SSE(CMPPD, "x,X,b"), SSE(CMPSS, "x,X4,b"), SSE(CMPSD, "x,X8,b"),
	T(COMISS, "x,X4", 0, K_NORMAL, TF_SSE, 0, 0, A, 0),
	T(UCOMISS, "x,X4", 0, K_NORMAL, TF_SSE, 0, 0, A, 0),
	T(COMISD, "x,X8", 0, K_NORMAL, TF_SSE, 0, 0, A, 0),
	T(UCOMISD, "x,X8", 0, K_NORMAL, TF_SSE, 0, 0, A, 0),
	SSE(ANDPS, "x,X"), SSE(ANDPD, "x,X"), SSE(ANDNPS, "x,X"), SSE(ANDNPD, "x,X"),
	SSE(ORPS, "x,X"), SSE(ORPD, "x,X"), SSE(XORPS, "x,X"), SSE(XORPD, "x,X"),
	SSE(SHUFPS, "x,X,b"), SSE(SHUFPD, "x,X,b"),
	SSE(UNPCKLPS, "x,X"), SSE(UNPCKHPS, "x,X"), SSE(UNPCKLPD, "x,X"), SSE(UNPCKHPD, "x,X"),
	SSE(CVTSI2SS, "x,E4"), SSE(CVTSI2SS, "x,E8"), SSE(CVTSI2SD, "x,E4"), SSE(CVTSI2SD, "x,E8"),
	SSE(CVTSS2SI, "r4,X4"), SSE(CVTSS2SI, "r8,X4"), SSE(CVTTSS2SI, "r4,X4"),
	SSE(CVTTSS2SI, "r8,X4"), SSE(CVTSD2SI, "r4,X8"), SSE(CVTSD2SI, "r8,X8"),
	SSE(CVTTSD2SI, "r4,X8"), SSE(CVTTSD2SI, "r8,X8"),
	SSE(CVTSS2SD, "x,X4"), SSE(CVTSD2SS, "x,X8"), SSE(CVTPS2PD, "x,X8"), SSE(CVTPD2PS, "x,X"),
	SSE(CVTDQ2PS, "x,X"), SSE(CVTPS2DQ, "x,X"), SSE(CVTTPS2DQ, "x,X"),
	SSE(CVTDQ2PD, "x,X8"), SSE(CVTPD2DQ, "x,X"), SSE(CVTTPD2DQ, "x,X"),

	/* ---- SSE2 integer ---- */
#define PI(n) SSE(n, "x,X")
	PI(PADDB), PI(PADDW), PI(PADDD), PI(PADDQ), PI(PADDSB), PI(PADDSW), PI(PADDUSB),
	PI(PADDUSW), PI(PSUBB), PI(PSUBW), PI(PSUBD), PI(PSUBQ), PI(PSUBSB), PI(PSUBSW),
	PI(PSUBUSB), PI(PSUBUSW), PI(PMULLW), PI(PMULHW), PI(PMULHUW), PI(PMULUDQ),
	PI(PMADDWD), PI(PSADBW), PI(PAVGB), PI(PAVGW), PI(PMAXSW), PI(PMAXUB), PI(PMINSW),
	PI(PMINUB), PI(PCMPEQB), PI(PCMPEQW), PI(PCMPEQD), PI(PCMPGTB), PI(PCMPGTW),
	PI(PCMPGTD), PI(PACKSSWB), PI(PACKSSDW), PI(PACKUSWB), PI(PUNPCKLBW), PI(PUNPCKLWD),
	PI(PUNPCKLDQ), PI(PUNPCKLQDQ), PI(PUNPCKHBW), PI(PUNPCKHWD), PI(PUNPCKHDQ),
	PI(PUNPCKHQDQ), PI(PAND), PI(PANDN), PI(POR), PI(PXOR),
	PI(PSLLW), PI(PSLLD), PI(PSLLQ), PI(PSRLW), PI(PSRLD), PI(PSRLQ), PI(PSRAW), PI(PSRAD),
	SSE(PSLLW, "x,b"), SSE(PSLLD, "x,b"), SSE(PSLLQ, "x,b"), SSE(PSRLW, "x,b"),
	SSE(PSRLD, "x,b"), SSE(PSRLQ, "x,b"), SSE(PSRAW, "x,b"), SSE(PSRAD, "x,b"),
	SSE(PSLLDQ, "x,b"), SSE(PSRLDQ, "x,b"),
	SSE(PSHUFD, "x,X,b"), SSE(PSHUFHW, "x,X,b"), SSE(PSHUFLW, "x,X,b"),
	SSE(PEXTRW, "r4,x,b"), SSE(PINSRW, "x,R4,b"), SSE(PINSRW, "x,M2,b"),

	/* ---- MMX (and the SSE/SSE2 instructions with MMX operands) ---- */
#define MI(n) P(n, "y,Y", 0)
	MI(PADDB), MI(PADDW), MI(PADDD), MI(PADDQ), MI(PADDSB), MI(PADDSW), MI(PADDUSB),
	MI(PADDUSW), MI(PSUBB), MI(PSUBW), MI(PSUBD), MI(PSUBQ), MI(PSUBSB), MI(PSUBSW),
	MI(PSUBUSB), MI(PSUBUSW), MI(PMULLW), MI(PMULHW), MI(PMULHUW), MI(PMULUDQ),
	MI(PMADDWD), MI(PSADBW), MI(PAVGB), MI(PAVGW), MI(PMAXSW), MI(PMAXUB), MI(PMINSW),
	MI(PMINUB), MI(PCMPEQB), MI(PCMPEQW), MI(PCMPEQD), MI(PCMPGTB), MI(PCMPGTW),
	MI(PCMPGTD), MI(PACKSSWB), MI(PACKSSDW), MI(PACKUSWB), MI(PUNPCKHBW), MI(PUNPCKHWD),
	MI(PUNPCKHDQ), MI(PAND), MI(PANDN), MI(POR), MI(PXOR),
	P(PUNPCKLBW, "y,Y4", 0), P(PUNPCKLWD, "y,Y4", 0), P(PUNPCKLDQ, "y,Y4", 0),
	MI(PSLLW), MI(PSLLD), MI(PSLLQ), MI(PSRLW), MI(PSRLD), MI(PSRLQ), MI(PSRAW), MI(PSRAD),
	P(PSLLW, "y,b", 0), P(PSLLD, "y,b", 0), P(PSLLQ, "y,b", 0), P(PSRLW, "y,b", 0),
	P(PSRLD, "y,b", 0), P(PSRLQ, "y,b", 0), P(PSRAW, "y,b", 0), P(PSRAD, "y,b", 0),
	P(PSHUFW, "y,Y,b", 0), P(PEXTRW, "r4,y,b", 0), P(PINSRW, "y,R4,b", 0),
	P(PINSRW, "y,M2,b", 0), P(PMOVMSKB, "r4,y", 0),
	P(MOVD, "y,E4", 0), P(MOVD, "e4,y", 0), P(MOVQ, "y,E8", 0), P(MOVQ, "e8,y", 0),
	P(MOVQ, "y,Y", 0), P(MOVQ, "M8,y", 0), P(MOVNTQ, "M8,y", 0),
	P(MOVQ2DQ, "x,y", 0), P(MOVDQ2Q, "y,x", 0),
	P(CVTPI2PS, "x,Y", 0), P(CVTPS2PI, "y,X8", 0), P(CVTTPS2PI, "y,X8", 0),
	P(CVTPI2PD, "x,Y", 0), SSE(CVTPD2PI, "y,X"), SSE(CVTTPD2PI, "y,X"),
	T(MASKMOVQ, "", 0, K_MASKMOV, 0, 1, 0, 0, 0),
	P(EMMS, "", 0),
};

const unsigned dt_ntmpl = sizeof(dt_tmpl) / sizeof(dt_tmpl[0]);
const unsigned dt_tmpl_setup = 0, dt_tmpl_flagdef = 1;
