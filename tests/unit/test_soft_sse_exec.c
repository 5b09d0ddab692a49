/* x87/MMX/SSE/SSE2 handlers of the software CPU, end to end: each
 * instruction below (assembled by the test's own assembler) runs once on
 * the host and once through the soft CPU's decoder and dispatch, from the
 * same FXSAVE image, GPRs, flags and memory; the FXSAVE images (registers,
 * MXCSR, FCW/FSW/tags), RAX/RCX/RDX, arithmetic flags and memory must be
 * identical.  Also the #NM/#UD/#GP/#XM/#MF conditions. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>

#include "soft_test_util.h"
#include "accel/soft/fpu_ops.h"

#define CODE  0x100000ull
#define DATA  0x200000ull   /* guest-physical = linear (identity map) */
#define DLEN  512

/* ---- the instructions ---------------------------------------------------
 * Memory operands use (%rsi), 16-byte aligned; MASKMOV* use (%rdi) = rsi. */
enum in_kind { K_INT, K_F32, K_F64, K_X87, K_CVT };

#define INSNS(X)                                                                   \
	X(movaps_rr, "movaps %xmm1, %xmm0", K_F32)                                 \
	X(movaps_ld, "movaps 16(%rsi), %xmm9", K_F32)                              \
	X(movaps_st, "movaps %xmm3, 32(%rsi)", K_F32)                              \
	X(movups_ld, "movups 3(%rsi), %xmm2", K_INT)                               \
	X(movdqu_st, "movdqu %xmm12, 5(%rsi)", K_INT)                              \
	X(movdqa_ld, "movdqa (%rsi), %xmm4", K_INT)                                \
	X(movapd_rr, "movapd %xmm15, %xmm1", K_F64)                                \
	X(movupd_st, "movupd %xmm1, 1(%rsi)", K_F64)                               \
	X(movntdq, "movntdq %xmm5, 48(%rsi)", K_INT)                               \
	X(movntps, "movntps %xmm5, 16(%rsi)", K_INT)                               \
	X(movnti32, "movnti %ecx, 4(%rsi)", K_INT)                                 \
	X(movnti64, "movnti %rax, 8(%rsi)", K_INT)                                 \
	X(movss_rr, "movss %xmm1, %xmm0", K_F32)                                   \
	X(movss_ld, "movss 4(%rsi), %xmm0", K_F32)                                 \
	X(movss_st, "movss %xmm2, 12(%rsi)", K_F32)                                \
	X(movsd_rr, "movsd %xmm1, %xmm8", K_F64)                                   \
	X(movsd_ld, "movsd 8(%rsi), %xmm0", K_F64)                                 \
	X(movsd_st, "movsd %xmm2, 24(%rsi)", K_F64)                                \
	X(movlps_ld, "movlps 8(%rsi), %xmm3", K_INT)                               \
	X(movlps_st, "movlps %xmm3, 8(%rsi)", K_INT)                               \
	X(movhps_ld, "movhps 8(%rsi), %xmm3", K_INT)                               \
	X(movhps_st, "movhps %xmm3, 40(%rsi)", K_INT)                              \
	X(movlpd_ld, "movlpd 8(%rsi), %xmm3", K_INT)                               \
	X(movhpd_st, "movhpd %xmm3, 40(%rsi)", K_INT)                              \
	X(movhlps, "movhlps %xmm1, %xmm0", K_INT)                                  \
	X(movlhps, "movlhps %xmm1, %xmm0", K_INT)                                  \
	X(movd_x_r, "movd %eax, %xmm1", K_INT)                                     \
	X(movq_x_r, "movq %rcx, %xmm10", K_INT)                                    \
	X(movd_r_x, "movd %xmm1, %eax", K_INT)                                     \
	X(movq_r_x, "movq %xmm11, %rdx", K_INT)                                    \
	X(movd_x_m, "movd 4(%rsi), %xmm1", K_INT)                                  \
	X(movd_m_x, "movd %xmm1, 4(%rsi)", K_INT)                                  \
	X(movq_x_x, "movq %xmm1, %xmm2", K_INT)                                    \
	X(movq_x_m, "movq 8(%rsi), %xmm2", K_INT)                                  \
	X(movq_m_x, "movq %xmm2, 8(%rsi)", K_INT)                                  \
	X(movq_mm, "movq %mm1, %mm2", K_INT)                                       \
	X(movd_mm_r, "movd %eax, %mm3", K_INT)                                     \
	X(movq_r_mm, "movq %mm3, %rcx", K_INT)                                     \
	X(movq_mm_m, "movq 8(%rsi), %mm0", K_INT)                                  \
	X(movq2dq, "movq2dq %mm1, %xmm1", K_INT)                                   \
	X(movdq2q, "movdq2q %xmm1, %mm1", K_INT)                                   \
	X(movmskps, "movmskps %xmm1, %eax", K_F32)                                 \
	X(movmskpd, "movmskpd %xmm1, %ecx", K_F64)                                 \
	X(pmovmskb, "pmovmskb %xmm6, %edx", K_INT)                                 \
	X(pmovmskb_mm, "pmovmskb %mm6, %edx", K_INT)                               \
	X(pextrw, "pextrw $5, %xmm1, %eax", K_INT)                                 \
	X(pinsrw_r, "pinsrw $3, %ecx, %xmm1", K_INT)                               \
	X(pinsrw_m, "pinsrw $7, 2(%rsi), %xmm1", K_INT)                            \
	X(pinsrw_mm, "pinsrw $2, %ecx, %mm1", K_INT)                               \
	X(maskmovdqu, "maskmovdqu %xmm1, %xmm0", K_INT)                            \
	X(maskmovq, "maskmovq %mm1, %mm0", K_INT)                                  \
	X(paddb, "paddb %xmm1, %xmm0", K_INT)                                      \
	X(paddw_m, "paddw 16(%rsi), %xmm13", K_INT)                                \
	X(psubq, "psubq %xmm1, %xmm0", K_INT)                                      \
	X(paddusb, "paddusb %xmm1, %xmm0", K_INT)                                  \
	X(psubsw, "psubsw %xmm1, %xmm0", K_INT)                                    \
	X(pcmpeqb, "pcmpeqb %xmm1, %xmm0", K_INT)                                  \
	X(pcmpeqb_m, "pcmpeqb (%rsi), %xmm0", K_INT)                               \
	X(pcmpgtd, "pcmpgtd %xmm1, %xmm0", K_INT)                                  \
	X(pminub, "pminub %xmm1, %xmm0", K_INT)                                    \
	X(pmaxsw, "pmaxsw %xmm1, %xmm0", K_INT)                                    \
	X(pavgb, "pavgb %xmm1, %xmm0", K_INT)                                      \
	X(psadbw, "psadbw %xmm1, %xmm0", K_INT)                                    \
	X(pmulhuw, "pmulhuw %xmm1, %xmm0", K_INT)                                  \
	X(pmuludq, "pmuludq %xmm1, %xmm0", K_INT)                                  \
	X(pmaddwd, "pmaddwd %xmm1, %xmm0", K_INT)                                  \
	X(pxor_self, "pxor %xmm7, %xmm7", K_INT)                                   \
	X(pandn, "pandn %xmm1, %xmm0", K_INT)                                      \
	X(xorps, "xorps %xmm1, %xmm0", K_INT)                                      \
	X(andnpd, "andnpd 32(%rsi), %xmm0", K_INT)                                 \
	X(punpcklbw, "punpcklbw %xmm1, %xmm0", K_INT)                              \
	X(punpckhwd, "punpckhwd %xmm1, %xmm0", K_INT)                              \
	X(punpcklqdq, "punpcklqdq %xmm1, %xmm0", K_INT)                            \
	X(punpckhqdq_m, "punpckhqdq 16(%rsi), %xmm0", K_INT)                       \
	X(unpcklps, "unpcklps %xmm1, %xmm0", K_INT)                                \
	X(unpckhpd, "unpckhpd %xmm1, %xmm0", K_INT)                                \
	X(packsswb, "packsswb %xmm1, %xmm0", K_INT)                                \
	X(packuswb, "packuswb %xmm1, %xmm0", K_INT)                                \
	X(packssdw, "packssdw %xmm1, %xmm0", K_INT)                                \
	X(psllw_i, "psllw $3, %xmm1", K_INT)                                       \
	X(psrad_i, "psrad $31, %xmm1", K_INT)                                      \
	X(psrlq_i, "psrlq $33, %xmm1", K_INT)                                      \
	X(psrlw_x, "psrlw %xmm2, %xmm1", K_INT)                                    \
	X(pslldq, "pslldq $5, %xmm1", K_INT)                                       \
	X(psrldq, "psrldq $9, %xmm14", K_INT)                                      \
	X(pshufd, "pshufd $0x1b, %xmm1, %xmm0", K_INT)                             \
	X(pshuflw, "pshuflw $0x4e, 16(%rsi), %xmm0", K_INT)                        \
	X(pshufhw, "pshufhw $0xb1, %xmm1, %xmm0", K_INT)                           \
	X(shufps, "shufps $0x72, %xmm1, %xmm0", K_INT)                             \
	X(shufpd, "shufpd $1, %xmm1, %xmm0", K_INT)                                \
	X(paddb_mm, "paddb %mm1, %mm0", K_INT)                                     \
	X(pcmpeqb_mm, "pcmpeqb 8(%rsi), %mm0", K_INT)                              \
	X(punpcklbw_mm, "punpcklbw %mm1, %mm0", K_INT)                             \
	X(punpckldq_mmm, "punpckldq 4(%rsi), %mm0", K_INT)                         \
	X(packsswb_mm, "packsswb %mm1, %mm0", K_INT)                               \
	X(psllq_mm, "psllq $7, %mm2", K_INT)                                       \
	X(pshufw, "pshufw $0x1b, %mm1, %mm0", K_INT)                               \
	X(psadbw_mm, "psadbw %mm1, %mm0", K_INT)                                   \
	X(emms, "emms", K_INT)                                                     \
	X(addps, "addps %xmm1, %xmm0", K_F32)                                      \
	X(addss_m, "addss 4(%rsi), %xmm0", K_F32)                                  \
	X(subps, "subps %xmm1, %xmm0", K_F32)                                      \
	X(mulss, "mulss %xmm1, %xmm0", K_F32)                                      \
	X(divps, "divps %xmm1, %xmm0", K_F32)                                      \
	X(divss, "divss %xmm9, %xmm0", K_F32)                                      \
	X(sqrtps, "sqrtps %xmm1, %xmm0", K_F32)                                    \
	X(sqrtss_m, "sqrtss 8(%rsi), %xmm0", K_F32)                                \
	X(minps, "minps %xmm1, %xmm0", K_F32)                                      \
	X(maxss, "maxss %xmm1, %xmm0", K_F32)                                      \
	X(rcpps, "rcpps %xmm1, %xmm0", K_F32)                                      \
	X(rsqrtss, "rsqrtss %xmm1, %xmm0", K_F32)                                  \
	X(cmpps_lt, "cmpltps %xmm1, %xmm0", K_F32)                                 \
	X(cmpss_unord, "cmpunordss %xmm1, %xmm0", K_F32)                           \
	X(cmpps_nle, "cmpnleps 16(%rsi), %xmm0", K_F32)                            \
	X(comiss, "comiss %xmm1, %xmm0", K_F32)                                    \
	X(ucomiss_m, "ucomiss 4(%rsi), %xmm0", K_F32)                              \
	X(addpd, "addpd %xmm1, %xmm0", K_F64)                                      \
	X(subsd_m, "subsd 8(%rsi), %xmm0", K_F64)                                  \
	X(mulpd, "mulpd %xmm1, %xmm0", K_F64)                                      \
	X(divsd, "divsd %xmm1, %xmm0", K_F64)                                      \
	X(sqrtpd, "sqrtpd %xmm1, %xmm0", K_F64)                                    \
	X(minsd, "minsd %xmm1, %xmm0", K_F64)                                      \
	X(maxpd, "maxpd %xmm1, %xmm0", K_F64)                                      \
	X(cmppd_eq, "cmpeqpd %xmm1, %xmm0", K_F64)                                 \
	X(cmpsd_nlt, "cmpnltsd %xmm1, %xmm0", K_F64)                               \
	X(cmpsd_ord, "cmpordsd 8(%rsi), %xmm0", K_F64)                             \
	X(comisd, "comisd %xmm1, %xmm0", K_F64)                                    \
	X(ucomisd, "ucomisd %xmm1, %xmm0", K_F64)                                  \
	X(cvtss2sd, "cvtss2sd %xmm1, %xmm0", K_F32)                                \
	X(cvtsd2ss, "cvtsd2ss %xmm1, %xmm0", K_F64)                                \
	X(cvtps2pd, "cvtps2pd 8(%rsi), %xmm0", K_F32)                              \
	X(cvtpd2ps, "cvtpd2ps %xmm1, %xmm0", K_F64)                                \
	X(cvtdq2ps, "cvtdq2ps %xmm1, %xmm0", K_CVT)                                \
	X(cvtps2dq, "cvtps2dq %xmm1, %xmm0", K_F32)                                \
	X(cvttps2dq, "cvttps2dq %xmm1, %xmm0", K_F32)                              \
	X(cvtdq2pd, "cvtdq2pd %xmm1, %xmm0", K_CVT)                                \
	X(cvtpd2dq, "cvtpd2dq %xmm1, %xmm0", K_F64)                                \
	X(cvttpd2dq, "cvttpd2dq (%rsi), %xmm0", K_F64)                             \
	X(cvtsi2ss, "cvtsi2ss %eax, %xmm0", K_CVT)                                 \
	X(cvtsi2sdq, "cvtsi2sd %rcx, %xmm0", K_CVT)                                \
	X(cvtsi2sd_m, "cvtsi2sdl 4(%rsi), %xmm0", K_CVT)                           \
	X(cvtss2si, "cvtss2si %xmm1, %eax", K_F32)                                 \
	X(cvttss2siq, "cvttss2si %xmm1, %rax", K_F32)                              \
	X(cvtsd2siq, "cvtsd2si %xmm1, %rdx", K_F64)                                \
	X(cvttsd2si_m, "cvttsd2si 8(%rsi), %ecx", K_F64)                           \
	X(cvtpi2ps, "cvtpi2ps %mm1, %xmm0", K_CVT)                                 \
	X(cvtps2pi, "cvtps2pi %xmm1, %mm0", K_F32)                                 \
	X(cvttpd2pi, "cvttpd2pi %xmm1, %mm0", K_F64)                               \
	X(cvtpi2pd, "cvtpi2pd 8(%rsi), %xmm0", K_CVT)                              \
	X(stmxcsr, "stmxcsr 4(%rsi)", K_F32)                                       \
	X(fadd, "fadd %st(1), %st", K_X87)                                         \
	X(fadd_rev, "fadd %st, %st(2)", K_X87)                                     \
	X(faddp, "faddp %st, %st(1)", K_X87)                                       \
	X(fsub, "fsub %st(3), %st", K_X87)                                         \
	X(fsubr, "fsubr %st(1), %st", K_X87)                                       \
	X(fsubp, "fsubp %st, %st(2)", K_X87)                                       \
	X(fsubrp, "fsubrp %st, %st(1)", K_X87)                                     \
	X(fmul_m64, "fmull 8(%rsi)", K_X87)                                        \
	X(fdiv_m32, "fdivs 4(%rsi)", K_X87)                                        \
	X(fdivr_m64, "fdivrl 8(%rsi)", K_X87)                                      \
	X(fdivp, "fdivp %st, %st(1)", K_X87)                                       \
	X(fidiv_m32, "fidivl 4(%rsi)", K_X87)                                      \
	X(fiadd_m16, "fiadds 2(%rsi)", K_X87)                                      \
	X(fld_st, "fld %st(3)", K_X87)                                             \
	X(fld_m32, "flds 4(%rsi)", K_X87)                                          \
	X(fld_m64, "fldl 8(%rsi)", K_X87)                                          \
	X(fld_m80, "fldt 16(%rsi)", K_X87)                                         \
	X(fild_m64, "fildll 8(%rsi)", K_X87)                                       \
	X(fst_m32, "fsts 4(%rsi)", K_X87)                                          \
	X(fstp_m64, "fstpl 8(%rsi)", K_X87)                                        \
	X(fstp_m80, "fstpt 16(%rsi)", K_X87)                                       \
	X(fstp_st, "fstp %st(2)", K_X87)                                           \
	X(fistp_m32, "fistpl 4(%rsi)", K_X87)                                      \
	X(fist_m16, "fists 2(%rsi)", K_X87)                                        \
	X(fisttp_m64, "fisttpll 8(%rsi)", K_X87)                                   \
	X(fxch, "fxch %st(2)", K_X87)                                              \
	X(fchs, "fchs", K_X87)                                                     \
	X(fabs, "fabs", K_X87)                                                     \
	X(fsqrt, "fsqrt", K_X87)                                                   \
	X(frndint, "frndint", K_X87)                                               \
	X(fscale, "fscale", K_X87)                                                 \
	X(fprem, "fprem", K_X87)                                                   \
	X(fprem1, "fprem1", K_X87)                                                 \
	X(fxtract, "fxtract", K_X87)                                               \
	X(fcom, "fcom %st(1)", K_X87)                                              \
	X(fcomp_m64, "fcompl 8(%rsi)", K_X87)                                      \
	X(fucompp, "fucompp", K_X87)                                               \
	X(fcomi, "fcomi %st(1), %st", K_X87)                                       \
	X(fucomip, "fucomip %st(2), %st", K_X87)                                   \
	X(ftst, "ftst", K_X87)                                                     \
	X(fxam, "fxam", K_X87)                                                     \
	X(fld1, "fld1", K_X87)                                                     \
	X(fldpi, "fldpi", K_X87)                                                   \
	X(fldl2e, "fldl2e", K_X87)                                                 \
	X(fldz, "fldz", K_X87)                                                     \
	X(fcmovb, "fcmovb %st(1), %st", K_X87)                                     \
	X(fcmovnbe, "fcmovnbe %st(2), %st", K_X87)                                 \
	X(fcmovu, "fcmovu %st(1), %st", K_X87)                                     \
	X(ffree, "ffree %st(1)", K_X87)                                            \
	X(fincstp, "fincstp", K_X87)                                               \
	X(fdecstp, "fdecstp", K_X87)                                               \
	X(fnstsw_ax, "fnstsw %ax", K_X87)                                          \
	X(fnstcw, "fnstcw 2(%rsi)", K_X87)                                         \
	X(fnclex, "fnclex", K_X87)                                                 \
	X(fninit, "fninit", K_X87)                                                 \
	X(fnstenv, "fnstenv 4(%rsi)", K_X87)                                       \
	X(fldenv_rt, "fnstenv (%rsi)\n\tfldenv (%rsi)", K_X87)                   \
	X(fnsave, "fnsave 4(%rsi)", K_X87)                                         \
	X(frstor_rt, "fnsave (%rsi)\n\tfrstor (%rsi)", K_X87)                     \
	X(fxsave, "fxsave64 (%rsi)", K_X87)                                        \
	X(fxsave_sse, "fxsave64 (%rsi)", K_F64)                                    \
	X(fxrstor, "fxrstor64 (%rsi)", K_X87)                                      \
	X(ldmxcsr, "ldmxcsr 4(%rsi)", K_F32)                                       \
	X(fldcw, "fldcw 2(%rsi)", K_X87)                                           \
	X(fsin, "fsin", K_X87)                                                     \
	X(fcos, "fcos", K_X87)                                                     \
	X(fsincos, "fsincos", K_X87)                                               \
	X(fptan, "fptan", K_X87)                                                   \
	X(fpatan, "fpatan", K_X87)                                                 \
	X(fyl2x, "fyl2x", K_X87)                                                   \
	X(fyl2xp1, "fyl2xp1", K_X87)                                               \
	X(f2xm1, "f2xm1", K_X87)                                                   \
	X(fbld, "fbld 16(%rsi)", K_X87)                                            \
	X(fbstp, "fbstp 16(%rsi)", K_X87)                                          \
	X(fucom, "fucom %st(2)", K_X87)                                            \
	X(fucomp, "fucomp %st(1)", K_X87)                                          \
	X(fcompp, "fcompp", K_X87)                                                 \
	X(fcom_m32, "fcoms 4(%rsi)", K_X87)                                        \
	X(ficom_m16, "ficoms 2(%rsi)", K_X87)                                      \
	X(ficomp_m32, "ficompl 4(%rsi)", K_X87)                                    \
	X(fisub_m16, "fisubs 2(%rsi)", K_X87)                                      \
	X(fisubr_m32, "fisubrl 4(%rsi)", K_X87)                                    \
	X(fimul_m32, "fimull 4(%rsi)", K_X87)                                      \
	X(fidivr_m16, "fidivrs 2(%rsi)", K_X87)                                    \
	X(fsubr_m32, "fsubrs 4(%rsi)", K_X87)                                      \
	X(fadd_m64, "faddl 8(%rsi)", K_X87)                                        \
	X(fmul_st, "fmul %st(3), %st", K_X87)                                      \
	X(fmulp, "fmulp %st, %st(3)", K_X87)                                       \
	X(fdivr_st, "fdivr %st, %st(1)", K_X87)                                    \
	X(fdivrp, "fdivrp %st, %st(2)", K_X87)                                     \
	X(ffreep, "ffreep %st(1)", K_X87)                                          \
	X(fcmove, "fcmove %st(1), %st", K_X87)                                     \
	X(fcmovne, "fcmovne %st(3), %st", K_X87)                                   \
	X(fcmovbe, "fcmovbe %st(1), %st", K_X87)                                   \
	X(fcmovnb, "fcmovnb %st(1), %st", K_X87)                                   \
	X(fcmovnu, "fcmovnu %st(1), %st", K_X87)                                   \
	X(fldlg2, "fldlg2", K_X87)                                                 \
	X(fldln2, "fldln2", K_X87)                                                 \
	X(fldl2t, "fldl2t", K_X87)                                                 \
	X(fnop, "fnop", K_X87)                                                     \
	X(fwait, "fwait", K_X87)                                                   \
	X(fild_m16, "filds 2(%rsi)", K_X87)                                        \
	X(fild_m32, "fildl 4(%rsi)", K_X87)                                        \
	X(fistp_m64, "fistpll 8(%rsi)", K_X87)                                     \
	X(fisttp_m16, "fisttps 2(%rsi)", K_X87)                                    \
	X(fst_st, "fst %st(4)", K_X87)                                             \
	X(fst_m64, "fstl 8(%rsi)", K_X87)                                          \
	X(fnstsw_m, "fnstsw 2(%rsi)", K_X87)                                       \
	X(cvtps2pi_m, "cvtps2pi 8(%rsi), %mm3", K_F32)                             \
	X(cvttps2pi, "cvttps2pi %xmm2, %mm3", K_F32)                               \
	X(cvtpd2pi, "cvtpd2pi %xmm2, %mm3", K_F64)                                 \
	X(pmullw, "pmullw %xmm1, %xmm0", K_INT)                                    \
	X(pmulhw, "pmulhw %xmm1, %xmm0", K_INT)                                    \
	X(pavgw, "pavgw %xmm1, %xmm0", K_INT)                                      \
	X(paddsb, "paddsb %xmm1, %xmm0", K_INT)                                    \
	X(paddsw_mm, "paddsw %mm1, %mm0", K_INT)                                   \
	X(psubusb, "psubusb %xmm1, %xmm0", K_INT)                                  \
	X(psubusw, "psubusw (%rsi), %xmm0", K_INT)                                 \
	X(pcmpeqw, "pcmpeqw %xmm1, %xmm0", K_INT)                                  \
	X(pcmpeqd, "pcmpeqd %xmm1, %xmm0", K_INT)                                  \
	X(pcmpgtb, "pcmpgtb %xmm1, %xmm0", K_INT)                                  \
	X(pcmpgtw_mm, "pcmpgtw %mm1, %mm0", K_INT)                                 \
	X(pmaxub, "pmaxub %xmm1, %xmm0", K_INT)                                    \
	X(pminsw, "pminsw %xmm1, %xmm0", K_INT)                                    \
	X(por, "por %xmm1, %xmm0", K_INT)                                          \
	X(pand_mm, "pand %mm1, %mm0", K_INT)                                       \
	X(andps, "andps %xmm1, %xmm0", K_INT)                                      \
	X(orpd, "orpd %xmm1, %xmm0", K_INT)                                        \
	X(xorpd, "xorpd %xmm1, %xmm0", K_INT)                                      \
	X(unpckhps, "unpckhps %xmm1, %xmm0", K_INT)                                \
	X(unpcklpd, "unpcklpd 16(%rsi), %xmm0", K_INT)                             \
	X(psllq_x, "psllq %xmm2, %xmm1", K_INT)                                    \
	X(pslld_i, "pslld $17, %xmm1", K_INT)                                      \
	X(psraw_m, "psraw (%rsi), %xmm1", K_INT)                                   \
	X(psrld_mm, "psrld %mm2, %mm1", K_INT)                                     \
	X(pextrw_mm, "pextrw $2, %mm1, %ecx", K_INT)                               \
	X(pinsrw_mm_m, "pinsrw $1, 2(%rsi), %mm1", K_INT)                          \
	X(movntq, "movntq %mm1, 8(%rsi)", K_INT)                                   \
	X(movd_m_mm, "movd %mm1, 4(%rsi)", K_INT)                                  \
	X(movq_m_mm, "movq %mm1, 8(%rsi)", K_INT)                                  \
	X(movapd_st, "movapd %xmm7, 16(%rsi)", K_F64)                              \
	X(rcpss, "rcpss %xmm1, %xmm0", K_F32)                                      \
	X(rsqrtps, "rsqrtps %xmm1, %xmm0", K_F32)                                  \
	X(sqrtsd, "sqrtsd %xmm1, %xmm0", K_F64)                                    \
	X(mulsd_m, "mulsd 8(%rsi), %xmm0", K_F64)                                  \
	X(divpd_m, "divpd 16(%rsi), %xmm0", K_F64)                                 \
	X(minss_m, "minss 4(%rsi), %xmm0", K_F32)                                  \
	X(maxsd, "maxsd %xmm1, %xmm0", K_F64)                                      \
	X(subss, "subss %xmm1, %xmm0", K_F32)                                      \
	X(cmpeqss, "cmpeqss %xmm1, %xmm0", K_F32)                                  \
	X(cmpless, "cmpless %xmm1, %xmm0", K_F32)                                  \
	X(cmpneqps, "cmpneqps %xmm1, %xmm0", K_F32)                                \
	X(cmpordps, "cmpordps %xmm1, %xmm0", K_F32)                                \
	X(cmpltpd, "cmpltpd %xmm1, %xmm0", K_F64)                                  \
	X(cmpnlepd, "cmpnlepd %xmm1, %xmm0", K_F64)                                \
	X(cmpunordpd, "cmpunordpd %xmm1, %xmm0", K_F64)                            \
	X(cmplesd, "cmplesd %xmm1, %xmm0", K_F64)                                  \
	X(cvtsd2ss_m, "cvtsd2ss 8(%rsi), %xmm0", K_F64)                            \
	X(cvtss2sd_m, "cvtss2sd 4(%rsi), %xmm0", K_F32)                            \
	X(cvtsi2ssq, "cvtsi2ss %rcx, %xmm0", K_CVT)                                \
	X(cvtss2siq, "cvtss2si %xmm1, %rcx", K_F32)                                \
	X(cvttsd2si, "cvttsd2si %xmm1, %eax", K_F64)

#define DEF(id, text, kind)                                                        \
	asm(".pushsection .rodata\n" "ti_" #id "_s:\n\t" text "\n" "ti_" #id "_e:\n\t" \
	    ".popsection");                                                        \
	extern const uint8_t ti_##id##_s[], ti_##id##_e[];
INSNS(DEF)
#undef DEF

static const struct tcase {
	const char *name;
	const uint8_t *start, *end;
	enum in_kind kind;
} cases[] = {
#define ENT(id, text, kind) { #id, ti_##id##_s, ti_##id##_e, kind },
	INSNS(ENT)
#undef ENT
};

/* ---- the native side -----------------------------------------------------
 * stub(struct nat *n, void *data): save the host FPU state, load the test
 * state, run the instruction, save the result, restore the host. */
struct nat {
	uint8_t fx_in[512];
	uint8_t fx_out[512];
	uint8_t fx_host[512];
	uint64_t rax, rcx, rdx, flags;
	uint64_t orax, orcx, ordx, oflags;
} __attribute__((aligned(64)));

#define OFF(f) #f
_Static_assert(offsetof(struct nat, fx_out) == 512, "layout");
_Static_assert(offsetof(struct nat, fx_host) == 1024, "layout");
_Static_assert(offsetof(struct nat, rax) == 1536, "layout");
_Static_assert(offsetof(struct nat, orax) == 1568, "layout");

asm(".pushsection .rodata\n"
    "stub_pro_s:\n\t"
    "push %rbx\n\tpush %rbp\n\tmov %rdi, %rbx\n\tmov %rsi, %rdi\n\t"
    "fxsave64 1024(%rbx)\n\tfxrstor64 (%rbx)\n\t"
    "mov 1536(%rbx), %rax\n\tmov 1544(%rbx), %rcx\n\tmov 1552(%rbx), %rdx\n\t"
    "pushq 1560(%rbx)\n\tpopfq\n"
    "stub_pro_e:\n\t"
    "pushfq\n\tpopq 1592(%rbx)\n\t"
    "mov %rax, 1568(%rbx)\n\tmov %rcx, 1576(%rbx)\n\tmov %rdx, 1584(%rbx)\n\t"
    "fxsave64 512(%rbx)\n\tfxrstor64 1024(%rbx)\n\t"
    "pop %rbp\n\tpop %rbx\n\tret\n"
    "stub_epi_e:\n\t"
    ".popsection");
extern const uint8_t stub_pro_s[], stub_pro_e[], stub_epi_e[];

static uint8_t *stub;
static uint8_t *host_data;
static struct st_env env;

static void native(const struct tcase *tc, struct nat *n, uint8_t *data)
{
	size_t pro = (size_t)(stub_pro_e - stub_pro_s), len = (size_t)(tc->end - tc->start);

	memcpy(stub, stub_pro_s, pro);
	memcpy(stub + pro, tc->start, len);
	memcpy(stub + pro + len, stub_pro_e, (size_t)(stub_epi_e - stub_pro_e));
	__builtin___clear_cache((char *)stub, (char *)stub + 4096);
	((void (*)(struct nat *, void *))stub)(n, data);
}

static void setup(void)
{
	stub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(stub != MAP_FAILED);
	host_data = aligned_alloc(64, 4096);
	st_init(&env, 64);
	soft_fpu__register_handlers(env.svm);
	env.cpu->cr4 |= X86_CR4_OSXMMEXCPT;
}

static void teardown(void)
{
	st_fini(&env);
	munmap(stub, 4096);
	free(host_data);
}

TestSuite(soft_sse_exec, .init = setup, .fini = teardown);

/* ---- inputs --------------------------------------------------------------- */
static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const uint32_t pool32[] = {
	0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x3F800000, 0xBF800000,
	0x40400000, 0x7F7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFC12345,
	0x3EAAAAAB, 0x4B800001, 0x4F000000, 0xCF000000, 0x5F000000, 0x3F000000, 0x40200000,
};
static const uint64_t pool64[] = {
	0, 0x8000000000000000ull, 1, 0x800FFFFFFFFFFFFFull, 0x0010000000000000ull,
	0x3FF0000000000000ull, 0xBFF0000000000000ull, 0x4008000000000000ull,
	0x7FEFFFFFFFFFFFFFull, 0x7FF0000000000000ull, 0xFFF0000000000000ull,
	0x7FF8000000000000ull, 0x7FF0000000000001ull, 0x41E0000000000000ull,
	0xC1E0000000000000ull, 0x43E0000000000000ull, 0x3FE0000000000000ull,
	0x4004000000000000ull, 0x3FD5555555555555ull, 0x36A0000000000000ull,
};
static const uint64_t pool_int[] = {
	0, 1, ~0ull, 0x8000000000000000ull, 0x7FFFFFFFFFFFFFFFull, 0x80000000ull,
	0x7FFFFFFFull, 0xFFFFFFFF80000000ull, 0x1000001ull, 0x20000000000001ull,
};
static const long double pool80[] = {
	0.0L, -0.0L, 1.0L, -1.5L, 3.0L, 0.1L, 1e-4940L, 1e4000L, -1e300L, 2.5L,
	-2.5L, 1e19L, 123456.75L, 1.0L / 3.0L, __builtin_infl(), -__builtin_infl(),
	__builtin_nanl(""), 65535.5L, -32768.0L, 4.0L,
};

#define PICK(a) (a[rnd() % (sizeof(a) / sizeof(a[0]))])

static void fill_lane(uint8_t *p, unsigned len, enum in_kind k)
{
	for (unsigned i = 0; i < len; ) {
		uint64_t v;
		unsigned n;

		switch (k) {
		case K_F32: v = rnd() % 4 ? PICK(pool32) : rnd(); n = 4; break;
		case K_F64: case K_X87: v = rnd() % 4 ? PICK(pool64) : rnd(); n = 8; break;
		case K_CVT: v = rnd() % 2 ? PICK(pool_int) : rnd(); n = 8; break;
		default: v = rnd() % 3 ? rnd() : PICK(pool_int); n = 8; break;
		}
		if (n > len - i)
			n = len - i;
		memcpy(p + i, &v, n);
		i += n;
	}
}

static void make_input(const struct tcase *tc, struct nat *n, uint8_t *data)
{
	uint8_t *fx = n->fx_in;
	uint32_t mxcsr = MXCSR_MASKS | (uint32_t)(rnd() & MXCSR_FLAGS);
	uint16_t fcw = 0x037F;

	memset(n, 0, sizeof(*n));
	if (tc->kind != K_INT)
		mxcsr |= (uint32_t)(rnd() & 3) << MXCSR_RC_SHIFT;
	if (tc->kind != K_INT && rnd() % 4 == 0)
		mxcsr |= (uint32_t)(rnd() & (MXCSR_DAZ | MXCSR_FZ));
	if (tc->kind == K_X87)
		fcw = (uint16_t)(0x007F | ((rnd() & 3) << FCW_RC_SHIFT) |
				 ((rnd() % 2 ? 3 : rnd() & 3) << FCW_PC_SHIFT));
	*(uint16_t *)(fx + 0) = fcw;
	/* FSW: TOP and sticky flags (masked, so no ES) */
	*(uint16_t *)(fx + 2) = (uint16_t)(((rnd() & 7) << FSW_TOP_SHIFT) | (rnd() & 0x473F));
	fx[4] = tc->kind == K_X87 ? (rnd() % 3 ? 0xFF : (uint8_t)rnd()) : (uint8_t)rnd();
	*(uint32_t *)(fx + 24) = mxcsr;
	for (unsigned i = 0; i < 8; i++) {
		long double v = PICK(pool80);

		if (tc->kind == K_X87 && rnd() % 5 == 0)
			v = -v;
		if (tc->kind == K_X87)
			memcpy(fx + 32 + 16 * i, &v, 10);
		else
			fill_lane(fx + 32 + 16 * i, 10, K_INT);
	}
	for (unsigned i = 0; i < 16; i++)
		fill_lane(fx + 160 + 16 * i, 16, tc->kind);
	fill_lane(data, DLEN, tc->kind == K_X87 ? K_F64 : tc->kind);
	if (tc->kind == K_X87) {
		long double v = PICK(pool80);

		memcpy(data + 16, &v, 10);
		memcpy(data + 4, &pool32[rnd() % (sizeof(pool32) / sizeof(pool32[0]))], 4);
	}
	/* FXRSTOR/LDMXCSR images need a valid MXCSR (else the host faults) */
	if (!strcmp(tc->name, "fxrstor"))
		*(uint32_t *)(data + 24) &= 0xFFFF;
	if (!strcmp(tc->name, "ldmxcsr"))
		*(uint32_t *)(data + 4) &= 0xFFFF;
	n->rax = rnd() % 2 ? rnd() : PICK(pool_int);
	n->rcx = rnd() % 2 ? rnd() : PICK(pool_int);
	n->rdx = rnd();
	n->flags = 0x202 | (rnd() & 0x8D5);
}

static int soft(const struct tcase *tc, struct nat *n, uint8_t *gdata)
{
	struct soft_cpu *cpu = env.cpu;
	size_t len = (size_t)(tc->end - tc->start);
	int r;

	st_code(&env, CODE, tc->start, len);
	cpu->rip = CODE;
	cpu->gpr[SOFT_RAX] = n->rax;
	cpu->gpr[SOFT_RCX] = n->rcx;
	cpu->gpr[SOFT_RDX] = n->rdx;
	cpu->gpr[SOFT_RSI] = cpu->gpr[SOFT_RDI] = DATA;
	soft_flags__set(cpu, n->flags);
	cr_assert_eq(soft_fpu__fxrstor(&cpu->fpu, n->fx_in, true, 16), FPU_OK);
	(void)gdata;
	/* one instruction per case, except the FNSTENV+FLDENV pair */
	for (unsigned i = 0; i < 4 && cpu->rip != CODE + len; i++) {
		r = soft_exec__run(cpu, 1);
		if (r != SOFT_RUN_BUDGET)
			return r;
	}
	r = SOFT_RUN_BUDGET;
	n->orax = cpu->gpr[SOFT_RAX];
	n->orcx = cpu->gpr[SOFT_RCX];
	n->ordx = cpu->gpr[SOFT_RDX];
	n->oflags = soft_flags__get(cpu);
	soft_fpu__fxsave(&cpu->fpu, n->fx_out, true, 16);
	return r;
}

static unsigned nr_mismatch;

static void report(const struct tcase *tc, const char *what, const void *want, const void *got,
		   unsigned len, const struct nat *in)
{
	char a[100], b[100];

	for (unsigned i = 0; i < len && i < 32; i++) {
		sprintf(a + 3 * i, "%02x ", ((const uint8_t *)want)[i]);
		sprintf(b + 3 * i, "%02x ", ((const uint8_t *)got)[i]);
	}
	cr_log_error("%s: %s differs\n  host %s\n  soft %s\n  (mxcsr in %08x fcw %04x fsw %04x ftw %02x)",
		     tc->name, what, a, b, *(const uint32_t *)(in->fx_in + 24),
		     *(const uint16_t *)(in->fx_in), *(const uint16_t *)(in->fx_in + 2), in->fx_in[4]);
	nr_mismatch++;
}

#define CMP(what, off, len)                                                                 \
	do {                                                                                \
		if (memcmp(hn.fx_out + (off), sn.fx_out + (off), (len)))                    \
			report(tc, what, hn.fx_out + (off), sn.fx_out + (off), (len), &hn); \
	} while (0)

static void run_case(const struct tcase *tc, unsigned iters)
{
	uint8_t *gdata = env.vm->ram + DATA;

	for (unsigned it = 0; it < iters; it++) {
		struct nat hn, sn;
		unsigned before = nr_mismatch;
		int r;

		make_input(tc, &hn, host_data);
		memcpy(gdata, host_data, DLEN);
		sn = hn;
		native(tc, &hn, host_data);
		r = soft(tc, &sn, gdata);
		cr_assert_eq(r, SOFT_RUN_BUDGET, "%s: run result %d, exception %d", tc->name, r,
			     env.cpu->exc.vector);
		if (!strncmp(tc->name, "fnstenv", 7) || !strncmp(tc->name, "fldenv", 6) ||
		    !strncmp(tc->name, "fnsave", 6) || !strncmp(tc->name, "frstor", 6)) {
			/* FIP/FCS/FOP/FDP/FDS: not tracked */
			unsigned at = tc->name[1] == 'n' ? 4 : 0;

			memset(host_data + at + 12, 0, 16);
			memset(gdata + at + 12, 0, 16);
		}
		if (!strncmp(tc->name, "fxsave", 6)) {
			/* FOP/FIP/FDP not tracked; MXCSR_MASK is the host's */
			memset(host_data + 6, 0, 18);
			memset(gdata + 6, 0, 18);
			memset(host_data + 28, 0, 4);
			memset(gdata + 28, 0, 4);
		}
		CMP("FCW", 0, 2);
		CMP("FSW", 2, 2);
		CMP("FTW", 4, 1);
		CMP("MXCSR", 24, 4);
		for (unsigned i = 0; i < 8; i++)
			CMP("ST/MM register", 32 + 16 * i, 10);
		for (unsigned i = 0; i < 16; i++)
			CMP("XMM register", 160 + 16 * i, 16);
		if (hn.orax != sn.orax)
			report(tc, "RAX", &hn.orax, &sn.orax, 8, &hn);
		if (hn.orcx != sn.orcx)
			report(tc, "RCX", &hn.orcx, &sn.orcx, 8, &hn);
		if (hn.ordx != sn.ordx)
			report(tc, "RDX", &hn.ordx, &sn.ordx, 8, &hn);
		if ((hn.oflags ^ sn.oflags) & 0x8D5)
			report(tc, "RFLAGS", &hn.oflags, &sn.oflags, 8, &hn);
		if (memcmp(host_data, gdata, DLEN))
			report(tc, "memory", host_data, gdata, DLEN, &hn);
		if (nr_mismatch != before && nr_mismatch > 40)
			break;
	}
}

Test(soft_sse_exec, every_instruction_matches_host, .timeout = 300)
{
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], 1000);
	cr_assert_eq(nr_mismatch, 0, "%u mismatches (see log)", nr_mismatch);
}
